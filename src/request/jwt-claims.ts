/**
 * The claim rules a token must meet beyond what fast-jwt checks (signature, algorithm, the
 * values of exp, nbf, and of iss and aud when configured). A hit is decided by the token
 * alone, the upstream never sees it: so the proxy must refuse at least every token the
 * upstream's JWT library refuses, or it serves cached data to a request the upstream would
 * answer 401. The reference is PyJWT 2.x (used by djangorestframework-simplejwt), which is
 * stricter than fast-jwt on these points. Being stricter than the upstream costs only a
 * bypass; being laxer leaks.
 */
import type { JwtConfig } from '../config/types.js'

/**
 * The claims a token must carry, checked by fast-jwt (requiredClaims), which then also checks
 * their types and values. The tenant claim makes the key. An issuer or an audience, once
 * configured, must be named by the token: fast-jwt checks iss and aud only when present,
 * PyJWT refuses a token without them (MissingRequiredClaimError).
 */
export function requiredClaimsOf(jwt: Pick<JwtConfig, 'claims' | 'issuer' | 'audience'>): string[] {
  const required = [jwt.claims.tenant]
  if (jwt.issuer !== undefined) required.push('iss')
  if (jwt.audience !== undefined) required.push('aud')
  return required
}

export interface ClaimRules {
  readonly audience: string | undefined
  readonly clockToleranceMs: number
}

/** A verified payload that passes every rule below (the registered claims of RFC 7519 section 4.1). */
export function meetsClaimRules(payload: Record<string, unknown>, rules: ClaimRules): boolean {
  return !hasUnexpectedAudience(payload, rules.audience)
}

/**
 * RFC 7519 section 4.1.3: a token whose `aud` does not name this service must be rejected.
 * With no audience configured, PyJWT rejects any token with a non-empty `aud` ("Invalid
 * audience"): it was issued for another service. Any `aud` here, even an empty one.
 */
function hasUnexpectedAudience(payload: Record<string, unknown>, audience: string | undefined): boolean {
  return audience === undefined && Object.hasOwn(payload, 'aud')
}
