import type { CachedResponse } from '../request/cached-response.js'
import type { CacheStore } from '../store/store.js'
import type { Clock } from '../clock.js'

/** How a fetch for a key ended, as its followers need to know. */
export type FlightOutcome = { readonly kind: 'stored'; readonly response: CachedResponse } | { readonly kind: 'pass' }

export interface Flight {
  /** The first call wins; later calls are ignored (the store path and the close hook both settle). */
  settle(outcome: FlightOutcome): void
}

export type Joined =
  | { readonly role: 'leader'; readonly flight: Flight }
  | { readonly role: 'follower'; wait(ms: number): Promise<FlightOutcome | undefined> }
  /** The key recently answered uncacheably: no waiting (Varnish's hit-for-miss). */
  | { readonly role: 'uncoalesced' }

/**
 * Request coalescing (nginx's proxy_cache_lock, Varnish's waiting list). Concurrent misses for
 * one key make one upstream request; followers are woken by the leader's outcome, not by
 * polling, and give up after a bounded wait. Keys include the tenant and user where the route
 * is scoped so, so a wait never crosses them.
 */
export function makeCoalescer(store: CacheStore, clock: Clock, hitForMissMs = 30_000) {
  const flights = new Map<string, { promise: Promise<FlightOutcome>; settle: (o: FlightOutcome) => void }>()
  const uncacheableUntil = new Map<string, number>()
  const remoteWaiters = new Map<string, Set<() => void>>()
  /** Responses stored by this process's fetches, for a moment: see storedSince. */
  const recentlyStored = new Map<string, { readonly response: CachedResponse; readonly at: number }>()
  let recentlyStoredBytes = 0
  const unsubscribe = store.onFill((key) => {
    for (const wake of remoteWaiters.get(key) ?? []) wake()
  })

  function join(key: string): Joined {
    const until = uncacheableUntil.get(key)
    if (until !== undefined) {
      if (until > clock.now()) return { role: 'uncoalesced' }
      uncacheableUntil.delete(key)
    }
    const existing = flights.get(key)
    if (existing) return { role: 'follower', wait: (ms) => withTimeout(existing.promise, ms) }
    let resolve!: (o: FlightOutcome) => void
    const promise = new Promise<FlightOutcome>((r) => { resolve = r })
    const entry = { promise, settle: resolve }
    flights.set(key, entry)
    return {
      role: 'leader',
      flight: {
        settle(outcome) {
          if (flights.get(key) !== entry) return
          flights.delete(key)
          if (outcome.kind === 'stored') remember(key, outcome.response)
          resolve(outcome)
        },
      },
    }
  }

  /**
   * The role join(key) would give now, without joining: a lookup asks the store for the
   * key's lock only for a request that would lead, and for stamps only where it will use them.
   */
  function peek(key: string): Joined['role'] {
    const until = uncacheableUntil.get(key)
    if (until !== undefined && until > clock.now()) return 'uncoalesced'
    return flights.has(key) ? 'follower' : 'leader'
  }

  function remember(key: string, response: CachedResponse): void {
    // Only a store dates it: a request that passed the response on (below) does not make it newer.
    if (recentlyStored.get(key)?.response === response) return
    forget(key)
    const now = clock.now()
    recentlyStored.set(key, { response, at: now })
    recentlyStoredBytes += response.body.length
    // Oldest first (insertion order): past the window, or beyond the bounds, they go.
    for (const [oldest, stored] of recentlyStored) {
      const within = stored.at >= now - RECENTLY_STORED_MS && recentlyStored.size <= RECENTLY_STORED_SIZE && recentlyStoredBytes <= RECENTLY_STORED_BYTES
      if (within || oldest === key) break
      forget(oldest)
    }
  }

  function forget(key: string): void {
    const stored = recentlyStored.get(key)
    if (stored === undefined) return
    recentlyStored.delete(key)
    recentlyStoredBytes -= stored.response.body.length
  }

  /**
   * The response a fetch of this process stored for `key` after `since` (a request's
   * start), if within the last RECENTLY_STORED_MS. A request whose lookup was in Redis while
   * that fetch stored and settled found nothing and no flight to follow; it takes that response
   * as a follower would have, instead of fetching the key a second time.
   */
  function storedSince(key: string, since: number): CachedResponse | undefined {
    const stored = recentlyStored.get(key)
    if (stored === undefined) return undefined
    if (stored.at < clock.now() - RECENTLY_STORED_MS) { forget(key); return undefined }
    return stored.at > since ? stored.response : undefined
  }

  /** Remembers that a key's response was uncacheable, so its requests stop queueing behind each other. */
  function markUncacheable(key: string): void {
    if (uncacheableUntil.size > 10_000) uncacheableUntil.clear() // bounded: a cleared marker only costs a wait
    uncacheableUntil.set(key, clock.now() + hitForMissMs)
  }

  /** Waits until another replica announces the key (or the bound passes). */
  function waitForRemoteFill(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = remoteWaiters.get(key) ?? new Set()
      remoteWaiters.set(key, waiters)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0) remoteWaiters.delete(key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waiters.add(done)
    })
  }

  return { join, peek, storedSince, markUncacheable, waitForRemoteFill, close: unsubscribe }
}

export type Coalescer = ReturnType<typeof makeCoalescer>

/** Bounds of the responses kept for storedSince: a moment's worth, never much memory. */
const RECENTLY_STORED_SIZE = 256
const RECENTLY_STORED_BYTES = 4 << 20
const RECENTLY_STORED_MS = 2_000

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    promise.then((value) => { clearTimeout(timer); resolve(value) }, () => { clearTimeout(timer); resolve(undefined) })
  })
}
