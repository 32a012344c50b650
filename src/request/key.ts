import * as crypto from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { CompiledRoute } from '../config/types.js'
import type { Identity } from './identity.js'
import type { QueryPair } from './canonical-query.js'
import type { ClientOrigin } from './client-origin.js'
import { escapeTagValue, expandWithWildcards, renderTag, routeTag } from '../tags/tag-template.js'

export interface KeyInput {
  readonly route: CompiledRoute
  readonly identity: Identity
  /** The Host header as received (the upstream gets it when preserveHost is on). */
  readonly host: string
  /** The scheme and host the client used (request/client-origin.ts): what the upstream builds links with. */
  readonly origin: ClientOrigin
  readonly pathname: string
  readonly query: readonly QueryPair[]
  /** Request header names the key includes (route.vary plus those the upstream Varies on). */
  readonly varyNames: readonly string[]
  readonly headers: IncomingHttpHeaders
}

/**
 * The cache key. Every part that can come from a client is inside a JSON array that is then
 * hashed, so no value can collide with another key, inject a glob or grow the key. The
 * tenant is always a part; the user is a part exactly when the route is per user.
 */
export function makeCacheKey(input: KeyInput): string {
  const { route, identity } = input
  const parts = [
    2,
    route.name,
    identity.tenant,
    route.scope === 'user' ? (identity.user ?? null) : null,
    input.host,
    input.origin.proto,
    input.origin.host,
    input.pathname,
    input.query,
    input.varyNames.map((name) => [name, headerValue(input.headers[name])]),
  ]
  const digest = sha256Base64url(JSON.stringify(parts))
  // The escaped tenant leads the key so that a clustered store can keep every key of a
  // tenant in one hash slot (store/cluster-layout.ts keyTenant); it cannot contain ':' (escapeTagValue).
  return `${escapeTagValue(identity.tenant)}:${route.name}:${digest}`
}

/** crypto.hash (Node >= 20.12) is the same SHA-256 without a Hash object per call. */
const sha256Base64url: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'base64url')
  : (text) => crypto.createHash('sha256').update(text).digest('base64url')

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  return Array.isArray(value) ? value.join('\n') : value
}

/** The entry's tags: the route's templates, a route tag for purges, and every wildcard above them. */
export function makeEntryTags(route: CompiledRoute, identity: Identity, params: Record<string, string>): string[] {
  const values = (name: string): string | undefined => {
    if (name === 'tenant') return identity.tenant
    if (name === 'user') return identity.user
    return name.startsWith('params.') ? params[name.slice(7)] : undefined
  }
  return expandWithWildcards([...route.tags.map((t) => renderTag(t, values)), routeTag(route.name, identity.tenant)])
}
