import type { CachedResponse } from '../request/cached-response.js'
import type { CacheStore, InvalidationEvent } from '../store/store.js'

export interface L1Options {
  readonly maxEntries: number
  readonly maxBytes: number
  /** Without database invalidation (TTL-only): the longest an L1 copy is served without asking the store. */
  readonly maxAgeMs: number
}

export interface L1Entry {
  readonly response: CachedResponse
  readonly tags: readonly string[]
  readonly insertedAt: number
  /** When it was last moved to the most recently used end. */
  usedAt: number
  /**
   * Work kept with the copy, counted in the byte bound: what delivery prepares once per entry
   * (header blocks, and the decoded body of a gzip-stored entry for clients without gzip).
   */
  extra: unknown
  extraBytes: number
}

/**
 * The in-process copy in front of the store, kept coherent by the invalidation feed: every
 * replica drops the entries of invalidated tags as soon as the broadcast arrives. It may be
 * consulted only while that feed is provably current. The leader broadcasts a heartbeat after
 * the purges of every commit before it, and pub/sub keeps one publisher's order, so "the feed's
 * watermark is within the freshness bound" means every purge older than the bound has been
 * applied here too: L1 never widens the staleness guarantee. Any gap in the feed (subscriber
 * reconnect, pattern purge) empties the L1.
 */
export function makeL1Cache(store: CacheStore, options: L1Options) {
  const entries = new Map<string, L1Entry>()
  const keysByTag = new Map<string, Set<string>>()
  let bytes = 0
  let feedWatermark: number | null = null
  /** Bumped by every invalidation: a copy read from the store before a bump must not be kept. */
  let generation = 0

  const unsubscribe = store.onInvalidation((event: InvalidationEvent) => {
    if (event.kind === 'watermark') feedWatermark = Math.max(feedWatermark ?? 0, event.ms)
    else if (event.kind === 'tags') { generation++; for (const tag of event.tags) dropTag(tag) }
    else { generation++; feedWatermark = null; clear() }
  })

  function usable(now: number, freshnessBoundMs: number | undefined): boolean {
    if (freshnessBoundMs === undefined) return true
    return feedWatermark !== null && now - feedWatermark <= freshnessBoundMs
  }

  /**
   * `freshnessBoundMs` is the request's (its config's invalidation.freshnessBound, which a reload
   * may change): the bound its store lookup would apply. Undefined: TTL-only, copies age out
   * after maxAgeMs.
   */
  function get(key: string, now: number, freshnessBoundMs: number | undefined): L1Entry | undefined {
    const entry = entries.get(key)
    if (!entry) return undefined
    const tooOld = freshnessBoundMs === undefined && now - entry.insertedAt > options.maxAgeMs
    if (!usable(now, freshnessBoundMs) || now >= entry.response.expiresAt || tooOld) return undefined
    // Most recently used goes last; a copy already moved within the last second stays where it
    // is (an LRU to within a second, without a Map delete and insert on every hit).
    if (now - entry.usedAt >= 1000 || now < entry.usedAt) {
      entry.usedAt = now
      entries.delete(key)
      entries.set(key, entry)
    }
    return entry
  }

  /**
   * Keeps `extra` with a copy (it stays as long as the copy), counting `extraBytes` in the byte
   * bound and evicting older copies to stay within it. False (and nothing kept) when the copy
   * is gone or the extra alone is too large.
   */
  function attach(key: string, entry: L1Entry, extra: unknown, extraBytes: number): boolean {
    if (entries.get(key) !== entry || entry.response.body.length + extraBytes > options.maxBytes / 8) return false
    bytes += extraBytes - entry.extraBytes
    entry.extra = extra
    entry.extraBytes = extraBytes
    for (const oldest of entries.keys()) {
      if (bytes <= options.maxBytes || oldest === key) break
      remove(oldest)
    }
    return true
  }

  /** `seenGeneration` is generation() as read before the store was asked. */
  function put(key: string, response: CachedResponse, tags: readonly string[], seenGeneration: number, now: number): void {
    if (seenGeneration !== generation || response.body.length > options.maxBytes / 8) return
    remove(key)
    entries.set(key, { response, tags, insertedAt: now, usedAt: now, extra: undefined, extraBytes: 0 })
    bytes += response.body.length
    for (const tag of tags) {
      const keys = keysByTag.get(tag) ?? new Set()
      keys.add(key)
      keysByTag.set(tag, keys)
    }
    for (const oldest of entries.keys()) {
      if (entries.size <= options.maxEntries && bytes <= options.maxBytes) break
      remove(oldest)
    }
  }

  function remove(key: string): void {
    const entry = entries.get(key)
    if (!entry) return
    entries.delete(key)
    bytes -= entry.response.body.length + entry.extraBytes
    for (const tag of entry.tags) {
      const keys = keysByTag.get(tag)
      keys?.delete(key)
      if (keys?.size === 0) keysByTag.delete(tag)
    }
  }

  function dropTag(tag: string): void {
    for (const key of [...(keysByTag.get(tag) ?? [])]) remove(key)
  }

  function clear(): void {
    entries.clear()
    keysByTag.clear()
    bytes = 0
  }

  return { get, put, attach, generation: () => generation, size: () => entries.size, bytes: () => bytes, close: () => { unsubscribe(); clear() } }
}

export type L1Cache = ReturnType<typeof makeL1Cache>
