import type { IncomingMessage } from 'node:http'
import type { ActiveConfig } from '../config/active-config.js'
import { decideRecv } from '../request/recv.js'
import { makeCacheKey, makeEntryTags } from '../request/key.js'
import { REASONS } from '../request/reasons.js'
import { entryKeyName } from '../store/make-store.js'

export interface ExplainInput { readonly method: string; readonly url: string; readonly host: string; readonly proto: string; readonly authorization: string | undefined }

/**
 * What the proxy would do with a request, computed by the same recv/key functions the
 * request path uses (no second implementation that could drift). Reads nothing from the store.
 */
export function explainRequest(active: ActiveConfig, input: ExplainInput) {
  const headers: Record<string, string> = { host: input.host }
  if (input.authorization) headers.authorization = input.authorization
  const fake = { method: input.method.toUpperCase(), url: input.url, headers, headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) }
  const recv = decideRecv(active.config, active.resolveIdentity, fake as unknown as IncomingMessage)
  if (recv.action === 'pass') return { route: null, action: 'pass', why: 'no configured route matches; proxied without X-Cache' }
  if (recv.action === 'bypass') return { route: recv.route.name, action: 'bypass', reason: recv.reason, why: REASONS[recv.reason].meaning, ...tokenDetail(active, fake, recv.reason) }
  const key = makeCacheKey({ route: recv.route, identity: recv.identity, host: input.host, origin: { proto: input.proto, host: input.host }, pathname: recv.pathname, query: recv.query, varyNames: recv.route.vary, headers })
  return {
    route: recv.route.name,
    action: 'lookup',
    identity: { tenant: recv.identity.tenant, user: recv.route.scope === 'user' ? recv.identity.user : undefined },
    scope: recv.route.scope,
    ttlSeconds: recv.route.ttlMs / 1000,
    canonicalQuery: recv.query,
    key: entryKeyName(active.config.store, key),
    tags: makeEntryTags(recv.route, recv.identity, recv.params),
  }
}

/** Which check refused the token, for an INVALID-TOKEN bypass (the verifier's words, never the token). */
function tokenDetail(active: ActiveConfig, request: object, reason: string): { detail?: string } {
  if (reason !== 'INVALID-TOKEN') return {}
  const verdict = active.resolveIdentity(request as IncomingMessage)
  return !verdict.ok && verdict.detail !== undefined ? { detail: verdict.detail } : {}
}
