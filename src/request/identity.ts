import { createVerifier, type Algorithm } from 'fast-jwt'
import type { IncomingHttpHeaders } from 'node:http'
import type { IdentityConfig, JwtConfig } from '../config/types.js'

/** A verified identity: the only source of the tenant and user that keys are made from. */
export interface Identity { readonly tenant: string; readonly user: string | undefined }

export type IdentityVerdict =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: 'NO-IDENTITY' | 'INVALID-TOKEN' }

export type IdentityResolver = (headers: IncomingHttpHeaders, distinct: NodeJS.Dict<string[]>) => IdentityVerdict

const MAX_TOKEN_LENGTH = 8192
const MAX_CLAIM_LENGTH = 256

export function makeIdentityResolver(config: IdentityConfig): IdentityResolver {
  return config.kind === 'jwt' ? makeJwtResolver(config.jwt) : makeHeaderResolver(config.header.tenant, config.header.user)
}

function makeJwtResolver(jwt: JwtConfig): IdentityResolver {
  const verify = createVerifier({
    key: jwt.key,
    algorithms: [...jwt.algorithms] as Algorithm[],
    // A small cache of verified tokens: a hit skips the signature check but still checks exp/nbf.
    cache: 2048,
    cacheTTL: 60_000,
    clockTolerance: jwt.clockToleranceSec * 1000,
    ...(jwt.issuer ? { allowedIss: jwt.issuer } : {}),
    ...(jwt.audience ? { allowedAud: jwt.audience } : {}),
    requiredClaims: [jwt.claims.tenant],
  })
  return (headers) => {
    const token = bearerToken(headers.authorization)
    if (token === undefined) return { ok: false, reason: 'NO-IDENTITY' }
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'INVALID-TOKEN' }
    let payload: Record<string, unknown>
    try {
      payload = verify(token) as Record<string, unknown>
    } catch {
      return { ok: false, reason: 'INVALID-TOKEN' }
    }
    const tenant = claimValue(payload[jwt.claims.tenant])
    if (tenant === undefined) return { ok: false, reason: 'INVALID-TOKEN' }
    const user = payload[jwt.claims.user] === undefined ? undefined : claimValue(payload[jwt.claims.user])
    if (payload[jwt.claims.user] !== undefined && user === undefined) return { ok: false, reason: 'INVALID-TOKEN' }
    return { ok: true, identity: { tenant, user } }
  }
}

/** Behind a gateway that authenticates and sets these headers. Repeated headers are refused. */
function makeHeaderResolver(tenantHeader: string, userHeader: string | undefined): IdentityResolver {
  return (_headers, distinct) => {
    const tenants = distinct[tenantHeader]
    if (!tenants) return { ok: false, reason: 'NO-IDENTITY' }
    const users = userHeader ? distinct[userHeader] : undefined
    if (tenants.length !== 1 || (users && users.length !== 1)) return { ok: false, reason: 'INVALID-TOKEN' }
    const tenant = claimValue(tenants[0])
    const user = users ? claimValue(users[0]) : undefined
    if (tenant === undefined || (users && user === undefined)) return { ok: false, reason: 'INVALID-TOKEN' }
    return { ok: true, identity: { tenant, user } }
  }
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header)
  return match?.[1]
}

/** Strings and safe integers only: an object or array claim can never become a key part. */
function claimValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH && value.trim() === value) return value
  return undefined
}
