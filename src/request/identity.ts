import { createVerifier, type Algorithm } from 'fast-jwt'
import type { IncomingHttpHeaders } from 'node:http'
import type { IdentityConfig, JwtConfig } from '../config/types.js'
import { unmetClaimRule, requiredClaimsOf, validFromMs, type ClaimRules } from './jwt-claims.js'

/** A verified identity: the only source of the tenant and user that keys are made from. */
export interface Identity { readonly tenant: string; readonly user: string | undefined }

export type IdentityVerdict =
  | { readonly ok: true; readonly identity: Identity }
  /** `detail` says which check refused the token (for /explain; never the token itself). */
  | { readonly ok: false; readonly reason: 'NO-IDENTITY' | 'INVALID-TOKEN'; readonly detail?: string }

/** What a resolver reads of a request. `headersDistinct` is read only in header mode (Node builds it lazily). */
export interface IdentitySource {
  readonly headers: IncomingHttpHeaders
  readonly headersDistinct: NodeJS.Dict<string[]>
}

export type IdentityResolver = (request: IdentitySource) => IdentityVerdict

const MAX_TOKEN_LENGTH = 8192
const MAX_CLAIM_LENGTH = 256
/** Verified tokens remembered, by their exact text: a hit costs one Map lookup. */
const VERIFIED_CACHE_SIZE = 2048
/** Longer tokens are not remembered (memory: at most VERIFIED_CACHE_SIZE x this many characters). */
const MAX_CACHED_TOKEN_LENGTH = 2048
/**
 * As fast-jwt's cacheTTL: a remembered token is verified again after this long, or at its exp
 * (always present: requiredClaimsOf) if that comes first. So no decision outlives the token,
 * and none is older than this (config reloads build a new resolver anyway).
 */
const VERIFIED_CACHE_TTL_MS = 60_000

export function makeIdentityResolver(config: IdentityConfig): IdentityResolver {
  return config.kind === 'jwt' ? makeJwtResolver(config.jwt) : makeHeaderResolver(config.header.tenant, config.header.user)
}

/** A verified token's identity and the time window (ms) in which fast-jwt would accept it again. */
interface Verified { readonly verdict: IdentityVerdict; readonly notBefore: number; readonly until: number }

export interface IdentityWindow { readonly notBefore: number; readonly until: number }

const windows = new WeakMap<Identity, IdentityWindow>()

/**
 * For an identity that came from a verified token: the window (ms since the epoch, Date.now())
 * in which that same token text is accepted. A caller that remembers a decision made for a
 * token's exact text may reuse it within this window only. Undefined for header identities.
 */
export function identityWindow(identity: Identity): IdentityWindow | undefined {
  return windows.get(identity)
}

function makeJwtResolver(jwt: JwtConfig): IdentityResolver {
  const clockToleranceMs = jwt.clockToleranceSec * 1000
  const rules: ClaimRules = { audience: jwt.audience, require: jwt.require, clockToleranceMs }
  const verify = createVerifier({
    key: jwt.key,
    algorithms: [...jwt.algorithms] as Algorithm[],
    // fast-jwt's own cache (keyed by a SHA-256 of the token) still serves tokens too long for ours.
    cache: 2048,
    cacheTTL: VERIFIED_CACHE_TTL_MS,
    clockTolerance: clockToleranceMs,
    ...(jwt.issuer ? { allowedIss: jwt.issuer } : {}),
    ...(jwt.audience ? { allowedAud: jwt.audience } : {}),
    requiredClaims: requiredClaimsOf(jwt),
  })
  /**
   * Tokens that passed verification, keyed by their exact text: a forged or altered token is a
   * different string, so it can only miss here and go through the full verification. The
   * window is the verifier's own, max(nbf, iat) - tolerance .. min(exp + tolerance, verified +
   * ttl), checked on every use, so an expired token is refused exactly as fast-jwt would
   * refuse it. Failures are never remembered: a token refused now (not yet valid) is verified
   * again on its next use.
   */
  const verified = new Map<string, Verified>()

  function verifyAndDecide(token: string, now: number): IdentityVerdict {
    let payload: Record<string, unknown>
    try {
      payload = verify(token) as Record<string, unknown>
    } catch (err) {
      return { ok: false, reason: 'INVALID-TOKEN', detail: (err as Error).message }
    }
    const unmet = unmetClaimRule(payload, rules, now)
    if (unmet !== undefined) return { ok: false, reason: 'INVALID-TOKEN', detail: unmet }
    const verdict = identityOf(payload)
    if (verdict.ok && token.length <= MAX_CACHED_TOKEN_LENGTH) remember(token, payload, verdict, now)
    return verdict
  }

  /**
   * Both configured claims are required. The upstream refuses a token without its user claim
   * (simplejwt: "no recognizable user identification"), so such a token is no identity at all,
   * INVALID-TOKEN as for a missing tenant, rather than a tenant-only identity that would read
   * tenant-wide entries. NO-USER remains for header identities: a gateway may authenticate
   * callers that have no user, and the upstream trusts its headers as the proxy does.
   */
  function identityOf(payload: Record<string, unknown>): IdentityVerdict {
    const tenant = claimValue(payload[jwt.claims.tenant])
    const user = claimValue(payload[jwt.claims.user])
    if (tenant === undefined) return { ok: false, reason: 'INVALID-TOKEN', detail: `the tenant claim "${jwt.claims.tenant}" is not a string or a safe integer` }
    if (user === undefined) return { ok: false, reason: 'INVALID-TOKEN', detail: `the user claim "${jwt.claims.user}" is not a string or a safe integer` }
    return { ok: true, identity: { tenant, user } }
  }

  function remember(token: string, payload: Record<string, unknown>, verdict: IdentityVerdict, now: number): void {
    const notBefore = validFromMs(payload) - clockToleranceMs
    let until = now + clockToleranceMs + VERIFIED_CACHE_TTL_MS
    if (typeof payload.exp === 'number') until = Math.min(until, payload.exp * 1000 + clockToleranceMs)
    if (!(until >= now)) return
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = verified.keys().next().value
      if (oldest !== undefined) verified.delete(oldest)
    }
    verified.set(token, { verdict, notBefore, until })
    if (verdict.ok) windows.set(verdict.identity, { notBefore, until })
  }

  return ({ headers }) => {
    const token = bearerToken(headers.authorization)
    if (token === undefined) return { ok: false, reason: 'NO-IDENTITY' }
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'INVALID-TOKEN', detail: `the token is longer than ${MAX_TOKEN_LENGTH} characters` }
    const now = Date.now() // fast-jwt's clock: the window is compared on the same time base
    const known = verified.get(token)
    if (known !== undefined) {
      if (now >= known.notBefore && now <= known.until) return known.verdict
      verified.delete(token)
    }
    return verifyAndDecide(token, now)
  }
}

/** Behind a gateway that authenticates and sets these headers. Repeated headers are refused. */
function makeHeaderResolver(tenantHeader: string, userHeader: string | undefined): IdentityResolver {
  return (request) => {
    const distinct = request.headersDistinct
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

const BEARER = /^Bearer[ ]+([^\s]+)\s*$/i

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const match = BEARER.exec(header)
  return match?.[1]
}

/** Strings and safe integers only: an object or array claim can never become a key part. */
function claimValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH && value.trim() === value) return value
  return undefined
}
