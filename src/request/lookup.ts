import type { StoreRead } from '../store/store.js'
import { decodeCachedResponse, type CachedResponse } from './cached-response.js'

/** VCL's hit/miss decision, given what the store returned. Pure. */
export type LookupVerdict =
  | { readonly kind: 'hit'; readonly response: CachedResponse }
  | { readonly kind: 'miss'; readonly reason: 'NOT-FOUND' | 'INVALIDATED' | 'EXPIRED' | 'UNREADABLE-ENTRY'; readonly previous?: CachedResponse }
  | { readonly kind: 'bypass'; readonly reason: 'REPLICATION-LAG' }

export interface LookupPolicy {
  /** With database-driven invalidation: the largest accepted watermark age; undefined = TTL only. */
  readonly freshnessBoundMs: number | undefined
}

export function evaluateLookup(read: StoreRead, now: number, policy: LookupPolicy): LookupVerdict {
  if (!isWithinFreshnessBound(read.watermark, now, policy)) return { kind: 'bypass', reason: 'REPLICATION-LAG' }
  if (read.entry === null) return { kind: 'miss', reason: 'NOT-FOUND' }
  const response = decodeCachedResponse(read.entry)
  if (!response) return { kind: 'miss', reason: 'UNREADABLE-ENTRY' }
  if (!stampsMatch(response.stamps, read.stamps)) return { kind: 'miss', reason: 'INVALIDATED', previous: response }
  if (now >= response.expiresAt) return { kind: 'miss', reason: 'EXPIRED', previous: response }
  return { kind: 'hit', response }
}

/**
 * Bounded staleness: the watermark is the newest replication heartbeat whose invalidations are
 * applied. If it is unknown or older than the bound, changes may be committed but not yet
 * purged, so no cached response may be served or stored.
 */
export function isWithinFreshnessBound(watermark: number | null, now: number, policy: LookupPolicy): boolean {
  if (policy.freshnessBoundMs === undefined) return true
  return watermark !== null && now - watermark <= policy.freshnessBoundMs
}

/** A missing stamp, or any stamp other than the one captured before the fetch, is an invalidation. */
export function stampsMatch(stored: string, current: readonly (string | null)[]): boolean {
  if (current.some((s) => s === null)) return false
  return stored === current.join(' ')
}

/**
 * What a miss may fall back on. Stale-while-revalidate: an expired, never-invalidated entry
 * within the route's window. Stale-if-error: the same within its window, and an invalidated
 * entry only where the route opts in (serving data known to be superseded is a choice).
 */
export function staleCandidates(
  lookup: Extract<LookupVerdict, { kind: 'miss' }>,
  route: { staleWhileRevalidateMs: number; staleIfErrorMs: number; serveInvalidatedOnError: boolean },
  now: number,
): { whileRevalidate: CachedResponse | undefined; ifError: CachedResponse | undefined } {
  const previous = lookup.previous
  if (!previous) return { whileRevalidate: undefined, ifError: undefined }
  const expired = lookup.reason === 'EXPIRED'
  const invalidated = lookup.reason === 'INVALIDATED'
  return {
    whileRevalidate: expired && now < previous.expiresAt + route.staleWhileRevalidateMs ? previous : undefined,
    ifError: route.staleIfErrorMs > 0 && (expired || (invalidated && route.serveInvalidatedOnError)) && now < previous.expiresAt + route.staleIfErrorMs ? previous : undefined,
  }
}
