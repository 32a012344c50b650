/**
 * Every response that is not a plain hit carries one reason token from this closed table.
 * The same token is used in the `Cache-Status` header (RFC 9211), the log line and the
 * metric label. `fwd` is the RFC 9211 section 2.2 value that best describes it.
 */
export const REASONS = {
  // recv: the request is passed to the upstream without reading or writing the cache
  'UNSUPPORTED-METHOD': { fwd: 'method', meaning: 'the method is not cached on this route (only GET/HEAD by default)' },
  'METHOD-OVERRIDE': { fwd: 'method', meaning: 'the request carries X-HTTP-Method-Override (or similar)' },
  'NO-IDENTITY': { fwd: 'bypass', meaning: 'no token or identity header: the upstream decides (usually 401)' },
  'INVALID-TOKEN': { fwd: 'bypass', meaning: 'the token failed verification (signature, algorithm, size, exp missing or past, nbf or iat ahead, issuer or audience, an aud with no audience configured, a required claim missing or not its required value, tenant or user claim missing or unusable)' },
  'NO-USER': { fwd: 'bypass', meaning: 'the route is per user and the gateway identity has no user header' },
  'UNSAFE-PATH': { fwd: 'bypass', meaning: 'the path has dot segments, encoded slashes or dots, empty segments or ;params' },
  'CLIENT-NO-CACHE': { fwd: 'request', meaning: 'the client asked for a refresh and the route honours it' },
  'STORE-UNAVAILABLE': { fwd: 'bypass', meaning: 'the store did not answer in time; served from the upstream' },
  'REPLICATION-LAG': { fwd: 'bypass', meaning: 'the invalidation watermark is older than the freshness bound or unknown' },
  // lookup: a miss, fetched from the upstream and stored if admissible
  'NOT-FOUND': { fwd: 'uri-miss', meaning: 'no entry for this key' },
  'INVALIDATED': { fwd: 'miss', meaning: 'the entry was invalidated by a database change or a purge' },
  'EXPIRED': { fwd: 'stale', meaning: 'the entry outlived its ttl' },
  'UNREADABLE-ENTRY': { fwd: 'miss', meaning: 'the stored bytes could not be decoded (replaced)' },
  // store: the response was fetched but will not be stored
  'UNCACHEABLE-STATUS': { fwd: 'uri-miss', meaning: "the status is not in the route's statuses" },
  'UNCACHEABLE-SET-COOKIE': { fwd: 'uri-miss', meaning: 'the response sets a cookie' },
  'UNCACHEABLE-NO-STORE': { fwd: 'uri-miss', meaning: 'the upstream sent Cache-Control: no-store or no-cache' },
  'UNCACHEABLE-PRIVATE': { fwd: 'uri-miss', meaning: 'the upstream sent Cache-Control: private' },
  'UNCACHEABLE-VARY': { fwd: 'uri-miss', meaning: 'the upstream sent Vary: * or varies on too many headers' },
  // deliver: a stored response served after its ttl
  'STALE-WHILE-REVALIDATE': { fwd: 'stale', meaning: 'served after its ttl (within staleWhileRevalidate) while one background request refreshes it' },
  'STALE-IF-ERROR': { fwd: 'stale', meaning: 'the upstream failed (connection, timeout or 5xx); a stored response within staleIfError was served' },
  'TOO-LARGE': { fwd: 'uri-miss', meaning: "the body is larger than the route's maxEntrySize (streamed, not stored)" },
} as const

export type Reason = keyof typeof REASONS

export type XCache = 'HIT' | 'MISS' | 'BYPASS' | 'STALE'

export const CACHE_NAME = 'cdc-cache-proxy'

/** RFC 9211 `Cache-Status` member for a response that was not served from the cache. */
export function cacheStatusForward(reason: Reason): string {
  return `${CACHE_NAME}; fwd=${REASONS[reason].fwd}; detail=${reason}`
}

/** RFC 9211 `Cache-Status` member for a hit; ttl is the remaining freshness in seconds (negative once stale). */
export function cacheStatusHit(ttlSeconds: number, extra = ''): string {
  if (extra !== '') return `${CACHE_NAME}; hit; ttl=${ttlSeconds}${extra}`
  // The hit path's per-request string: hits within the same second mostly share their ttl.
  if (ttlSeconds !== lastHit.ttl) lastHit = { ttl: ttlSeconds, text: `${CACHE_NAME}; hit; ttl=${ttlSeconds}` }
  return lastHit.text
}
let lastHit = { ttl: NaN, text: '' }

/** A stale response served instead of an upstream failure (fwd-status: what the upstream answered, if anything). */
export function cacheStatusStaleIfError(ttlSeconds: number, upstreamStatus: number | undefined): string {
  return `${CACHE_NAME}; fwd=stale; ${upstreamStatus ? `fwd-status=${upstreamStatus}; ` : ''}ttl=${ttlSeconds}; detail=STALE-IF-ERROR`
}
