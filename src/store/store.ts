/**
 * The store is storage, not policy (the undici cache-store split). It keeps opaque entry
 * bytes and one random "stamp" per tag; the policy code decides what a stamp mismatch means.
 *
 * Layout (design.md, "stale-set race"): an entry records the stamps of its tags as they were
 * *before* its upstream fetch. Invalidating a tag deletes its stamp, which makes every entry
 * carrying it unreadable (a missing or changed stamp is a miss) in O(1), whatever the number of
 * entries. A write succeeds only if the stamps are still the ones captured before the fetch,
 * so a slow miss can never store data that an invalidation already superseded. A missing
 * stamp always reads as a miss, so eviction of any key is safe.
 */
export interface CacheStore {
  readonly kind: 'redis' | 'redis-cluster' | 'memory'

  /**
   * One round trip: the entry bytes (or null), the current stamp of each tag (null where
   * missing) in the order given, and the freshness watermark (ms, or null if unknown).
   *
   * Without `acquire`, a plain MGET on Redis: the hit path's command.
   *
   * With `acquire`: when the entry or any of its stamps is missing (a miss, whatever else the
   * caller finds), the same round trip also does what acquireStamps (or, with a lock,
   * acquireStampsAndLock) would, and `acquired` says so. A read that finds everything present
   * acquires nothing: whether that entry is usable is the caller's policy. On Redis this is a
   * script, which costs Redis several times an MGET's CPU per hit (docs/benchmarks.md, "MISS
   * calls"): callers ask for it where lookups mostly miss.
   */
  read(key: string, tags: readonly string[], acquire?: AcquireOnMiss): Promise<StoreRead>

  /** Returns the current stamp of each tag, creating the missing ones. */
  acquireStamps(tags: readonly string[]): Promise<string[]>

  /**
   * acquireStamps and tryLock in one round trip: the start of a coalesced miss. A lock another
   * fetch holds is marked awaited, so that its end (endFill, or a write's endsFillOf) is
   * announced: only awaited fills are, as no replica listens for the others.
   */
  acquireStampsAndLock(tags: readonly string[], lock: { readonly key: string; readonly ttlMs: number }): Promise<AcquiredStamps>

  /**
   * Writes the entry with a time to live, atomically and only if every tag's stamp still
   * equals `stamps` (same order as `tags`). Returns false when an invalidation came between.
   */
  writeIfUnchanged(write: StoreWrite): Promise<boolean>

  /** Deletes the stamps of these tags; resolves once the deletion is confirmed. Returns how many existed. */
  invalidateTags(tags: readonly string[]): Promise<number>

  /** Operator action (may scan): deletes the stamps of every tag matching a glob. Returns how many. */
  invalidateTagPattern(glob: string): Promise<number>

  /** Records the newest applied replication heartbeat (ms since epoch). Never moves backwards. */
  writeWatermark(ms: number): Promise<void>
  readWatermark(): Promise<number | null>

  /**
   * Cross-replica request coalescing: a short lock per key, so that of all replicas only one
   * fetches a cold key. Returns false when another holder has it.
   */
  tryLock(key: string, ttlMs: number): Promise<boolean>
  /**
   * The fetch for `key` ended (stored or not): releases this process's lock on it and, if
   * another replica waits on it (acquireStampsAndLock found it held), announces the fill to
   * wake that waiter.
   */
  endFill(key: string): Promise<void>
  /** Calls `listener` with every key any replica announces. Returns the unsubscribe function. */
  onFill(listener: (key: string) => void): () => void

  /**
   * The invalidation feed for in-process (L1) copies: every confirmed invalidateTags, pattern
   * purge and watermark advance, from any replica, in the order the writer issued them; and
   * `reset` whenever events may have been lost (subscriber reconnect).
   */
  onInvalidation(listener: (event: InvalidationEvent) => void): () => void

  /** Deletes one entry (used when an entry is found to be unusable). */
  deleteEntry(key: string): Promise<void>

  ping(): Promise<void>
  /** What on-call needs to see of the store (admin `/status`). */
  describe(): Promise<StoreStatus>
  close(): Promise<void>
}

export type StoreStatus =
  | { readonly kind: 'memory' | 'redis' }
  | {
    readonly kind: 'redis-cluster'
    readonly masters: readonly { readonly id: string; readonly slots: number; readonly up: boolean; readonly watermark: number | null }[]
    /** Slots whose invalidations could not be applied, waiting for their master to be flushed. */
    readonly condemnedSlots: readonly number[]
  }

export interface StoreRead {
  readonly entry: Buffer | null
  readonly stamps: readonly (string | null)[]
  readonly watermark: number | null
  /** Present when `acquire` was asked and the read was a certain miss. */
  readonly acquired?: AcquiredStamps
}

export interface AcquireOnMiss {
  /** Also try the key's coalescing lock (see tryLock). */
  readonly lock?: { readonly key: string; readonly ttlMs: number }
}

export type InvalidationEvent =
  | { readonly kind: 'tags'; readonly tags: readonly string[] }
  | { readonly kind: 'watermark'; readonly ms: number }
  /** A pattern purge, or a subscriber reconnect: anything may have changed. */
  | { readonly kind: 'reset' }

export interface AcquiredStamps {
  readonly stamps: string[]
  /** With a lock request: whether this process now holds it. */
  readonly locked: boolean
}

export interface StoreWrite {
  readonly key: string
  readonly tags: readonly string[]
  readonly stamps: readonly string[]
  readonly value: Buffer
  readonly ttlMs: number
  /**
   * The key whose fill this write ends (`key`, or the request's key when the response's Vary
   * moved it): in the same call, whether or not the write is accepted, the fill ends as
   * endFill ends it (without another command).
   */
  readonly endsFillOf?: string
}
