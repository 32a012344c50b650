import type { IncomingHttpHeaders } from 'node:http'
import type { CachedResponse } from './cached-response.js'

/** RFC 9110 section 7.6.1: hop-by-hop headers are never stored or replayed. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection'])
/** Recomputed for each delivery. */
const RECOMPUTED = new Set(['content-length', 'age', 'x-cache', 'cache-status'])

/**
 * An upstream response's headers without the hop-by-hop ones (and those its Connection header
 * names), for the client of a MISS or a pass-through. Transfer-Encoding is left to the
 * proxy library, which frames the body itself.
 */
export function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()))
  const out: IncomingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'transfer-encoding' && (HOP_BY_HOP.has(name) || listed.has(name))) continue
    out[name] = value
  }
  return out
}

/** The end-to-end headers of an upstream response, in order, as they will be replayed on a hit. */
export function storableHeaders(headers: IncomingHttpHeaders): [string, string][] {
  const listed = new Set(String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()))
  const out: [string, string][] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || RECOMPUTED.has(name) || listed.has(name)) continue
    for (const item of Array.isArray(value) ? value : [value]) out.push([name, item])
  }
  return out
}

/** Age (RFC 9111 section 5.1) and remaining freshness for a hit, in whole seconds. */
export function hitTiming(response: CachedResponse, now: number): { age: number; ttl: number } {
  return {
    age: Math.max(0, Math.floor((now - response.storedAt) / 1000)),
    ttl: Math.max(0, Math.floor((response.expiresAt - now) / 1000)),
  }
}
