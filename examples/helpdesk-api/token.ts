import { createSigner } from 'fast-jwt'

/** What the seed app's JWTs carry: the tenant (client id) and the person (people id). */
export interface TokenClaims {
  readonly tenant: number | string
  readonly sub: number | string
}

/**
 * Mints an HS256 token the helpdesk API (and the proxy configured with the same secret)
 * accepts. Claims are strings: RFC 7519 section 4.1.2 makes `sub` a StringOrURI.
 */
export function makeHelpdeskToken(options: { secret: string; claims: TokenClaims; expiresInSec?: number }): string {
  const sign = createSigner({ key: options.secret, algorithm: 'HS256', expiresIn: (options.expiresInSec ?? 3600) * 1000 })
  return sign({ tenant: String(options.claims.tenant), sub: String(options.claims.sub) })
}
