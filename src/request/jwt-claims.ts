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
 * their types and values. The tenant and user claims make the key (identity.ts refuses a
 * value that is not a short string or a safe integer). exp bounds how long the token alone
 * authorises hits, whatever the upstream decides meanwhile about its user: without it, for
 * ever (simplejwt requires it as well). `requireExpiry: false` is for upstreams that issue
 * tokens without exp on purpose (PyJWT accepts them by default): such a token then authorises
 * hits for as long as its signature verifies, as it authorises the upstream's answers. An issuer or an audience, once configured, must be
 * named by the token: fast-jwt checks iss and aud only when present, PyJWT refuses a token
 * without them (MissingRequiredClaimError).
 */
export function requiredClaimsOf(jwt: Pick<JwtConfig, 'claims' | 'issuer' | 'audience' | 'requireExpiry' | 'requiredClaims'>): string[] {
  const required = [jwt.claims.tenant, jwt.claims.user, ...jwt.requiredClaims]
  if (jwt.requireExpiry) required.push('exp')
  if (jwt.issuer !== undefined) required.push('iss')
  if (jwt.audience !== undefined) required.push('aud')
  return required
}

export interface ClaimRules {
  readonly audience: string | undefined
  readonly require: Readonly<Record<string, string | number | boolean>>
  readonly clockToleranceMs: number
}

/** The first rule below a verified payload breaks (the registered claims of RFC 7519 section 4.1), in words; undefined when it meets them all. */
export function unmetClaimRule(payload: Record<string, unknown>, rules: ClaimRules, now: number): string | undefined {
  if (hasUnexpectedAudience(payload, rules.audience)) return 'the token has an aud claim and no audience is configured'
  if (hasUnacceptableIssuedAt(payload, rules.clockToleranceMs, now)) return 'the token\'s iat is not a number or is later than now + clockTolerance'
  if (!carriesRequiredValues(payload, rules.require)) return `the token lacks a required claim value (${Object.keys(rules.require).join(', ')})`
  return undefined
}

/**
 * Claims the upstream checks by value (`identity.jwt.require`): djangorestframework-simplejwt
 * refuses a refresh token as a bearer token ("Token has wrong type", `token_type` must be
 * `access`), yet a refresh token is signed with the same key and carries the same claims.
 */
function carriesRequiredValues(payload: Record<string, unknown>, require: Readonly<Record<string, string | number | boolean>>): boolean {
  for (const name of Object.keys(require)) if (payload[name] !== require[name]) return false
  return true
}

/**
 * RFC 7519 section 4.1.3: a token whose `aud` does not name this service must be rejected.
 * With no audience configured, PyJWT rejects any token with a non-empty `aud` ("Invalid
 * audience"): it was issued for another service. (simplejwt turns that check off while its
 * AUDIENCE is unset; an upstream may well keep it, and a bypass is the cheap side to err on.)
 * Any `aud` here, even an empty one.
 */
function hasUnexpectedAudience(payload: Record<string, unknown>, audience: string | undefined): boolean {
  return audience === undefined && Object.hasOwn(payload, 'aud')
}

/**
 * RFC 7519 section 4.1.6 leaves iat informative; PyJWT refuses an iat that is not a number
 * (InvalidIssuedAtError) or later than now + leeway (ImmatureSignatureError, "not yet valid").
 * fast-jwt checks iat only with maxAge. Time-dependent: the identity window starts no earlier
 * than iat - clockTolerance (validFromMs), so a decision remembered for the token agrees with it.
 */
function hasUnacceptableIssuedAt(payload: Record<string, unknown>, clockToleranceMs: number, now: number): boolean {
  if (!Object.hasOwn(payload, 'iat')) return false
  const issuedAt = issuedAtMs(payload)
  return issuedAt === undefined || !(now >= issuedAt - clockToleranceMs)
}

/**
 * When the token starts to be accepted (ms since the epoch, before clockTolerance): the later
 * of nbf (fast-jwt's check) and iat (hasUnacceptableIssuedAt). The start of its identity window.
 */
export function validFromMs(payload: Record<string, unknown>): number {
  const notBefore = typeof payload.nbf === 'number' ? payload.nbf * 1000 : -Infinity
  return Math.max(notBefore, issuedAtMs(payload) ?? -Infinity)
}

function issuedAtMs(payload: Record<string, unknown>): number | undefined {
  return typeof payload.iat === 'number' ? payload.iat * 1000 : undefined
}
