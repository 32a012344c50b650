import type { IncomingMessage } from 'node:http'
import type { CompiledConfig, CompiledRoute } from '../config/types.js'
import type { Identity, IdentityResolver } from './identity.js'
import type { Reason } from './reasons.js'
import { canonicalQuery, type QueryPair } from './canonical-query.js'

/** The first stage (VCL's vcl_recv): which route, and lookup or pass. */
export type RecvVerdict =
  | { readonly action: 'pass' }
  | { readonly action: 'bypass'; readonly route: CompiledRoute; readonly reason: Reason }
  | { readonly action: 'lookup'; readonly route: CompiledRoute; readonly identity: Identity; readonly pathname: string; readonly params: Record<string, string>; readonly query: QueryPair[] }

export function decideRecv(config: CompiledConfig, resolveIdentity: IdentityResolver, req: IncomingMessage): RecvVerdict {
  const url = req.url ?? '/'
  // Absolute-form targets (`GET http://other/...`) never match a route: passed through.
  if (!url.startsWith('/')) return { action: 'pass' }
  const queryAt = url.indexOf('?')
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt)
  const found = matchRoute(config.routes, pathname)
  if (!found) return { action: 'pass' }
  const { route, params } = found
  const bypass = (reason: Reason): RecvVerdict => ({ action: 'bypass', route, reason })
  if (!route.methods.has(req.method ?? '')) return bypass('UNSUPPORTED-METHOD')
  if (hasMethodOverride(req)) return bypass('METHOD-OVERRIDE')
  if (isUnsafePath(pathname)) return bypass('UNSAFE-PATH')
  const decodedParams = decodeParams(params)
  if (!decodedParams) return bypass('UNSAFE-PATH')
  const verdict = resolveIdentity(req)
  if (!verdict.ok) return bypass(verdict.reason)
  if (route.scope === 'user' && verdict.identity.user === undefined) return bypass('NO-USER')
  if (route.honourClientNoCache && asksForRefresh(req)) return bypass('CLIENT-NO-CACHE')
  const query = canonicalQuery(queryAt === -1 ? '' : url.slice(queryAt + 1), route)
  return { action: 'lookup', route, identity: verdict.identity, pathname, params: decodedParams, query }
}

function matchRoute(routes: readonly CompiledRoute[], pathname: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const params = route.match(pathname)
    if (params) return { route, params }
  }
  return undefined
}

/**
 * Paths the upstream might normalise into another resource: dot segments (also encoded),
 * encoded slashes or backslashes, empty segments, matrix params. They are never cached.
 */
export function isUnsafePath(pathname: string): boolean {
  return UNSAFE_PATH.test(pathname)
}

const UNSAFE_PATH = /%2e|%2f|%5c|%00|\\|;|\/\/|\/\.\.?(\/|$)/i

function decodeParams(params: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined
  try {
    for (const [name, value] of Object.entries(params)) (out ??= {})[name] = decodeURIComponent(value)
  } catch {
    return undefined
  }
  return out ?? params // no parameters: the route's (frozen, empty) object as it is
}

const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']

export function hasMethodOverride(req: IncomingMessage): boolean {
  const headers = req.headers
  for (const name of OVERRIDE_HEADERS) if (headers[name] !== undefined) return true
  return false
}

/** RFC 9111 section 5.2.1.4 (no-cache) and section 5.4 (Pragma). */
export function asksForRefresh(req: IncomingMessage): boolean {
  const cacheControl = req.headers['cache-control'] ?? ''
  return /(^|,)\s*(no-cache|max-age=0)\s*(,|$)/i.test(cacheControl) || /no-cache/i.test(req.headers.pragma ?? '')
}
