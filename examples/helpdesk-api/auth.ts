import { createVerifier } from 'fast-jwt'
import type pg from 'pg'

/** The authenticated caller, loaded from the database as Django's authentication does. */
export interface HelpdeskUser {
  readonly id: number
  readonly tenant: number
  readonly buId: number
  readonly username: string
}

export type AuthVerdict =
  | { readonly ok: true; readonly user: HelpdeskUser }
  | { readonly ok: false; readonly code: 'NOT_AUTHENTICATED' | 'AUTHENTICATION_FAILED'; readonly message: string }

export type Authenticate = (authorization: string | undefined) => Promise<AuthVerdict>

const MISSING: AuthVerdict = { ok: false, code: 'NOT_AUTHENTICATED', message: 'Authentication credentials were not provided.' }
const INVALID: AuthVerdict = { ok: false, code: 'AUTHENTICATION_FAILED', message: 'Given token not valid for any token type.' }
const UNKNOWN_USER: AuthVerdict = { ok: false, code: 'AUTHENTICATION_FAILED', message: 'User not found or inactive.' }

/**
 * Verifies `Authorization: Bearer <HS256 JWT>` and loads the person it names. Only HS256 is
 * accepted, so `alg: none` and algorithm-confusion tokens fail (RFC 8725 section 3.1).
 */
export function makeAuthenticator(options: { jwtSecret: string; pool: pg.Pool }): Authenticate {
  const verify = createVerifier({ key: options.jwtSecret, algorithms: ['HS256'] })
  return async (authorization) => {
    const token = readBearerToken(authorization)
    if (token === undefined) return MISSING
    const claims = verifyClaims(verify, token)
    if (claims === undefined) return INVALID
    const user = await loadUser(options.pool, claims)
    return user === undefined ? UNKNOWN_USER : { ok: true, user }
  }
}

function readBearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1]
}

function verifyClaims(verify: (token: string) => unknown, token: string): { tenant: number; user: number } | undefined {
  let payload: unknown
  try {
    payload = verify(token)
  } catch {
    // fast-jwt throws for a bad signature, a wrong algorithm, expiry and malformed tokens
    // alike; the client only needs to know the token was refused.
    return undefined
  }
  if (payload === null || typeof payload !== 'object') return undefined
  const tenant = parseId((payload as Record<string, unknown>)['tenant'])
  const user = parseId((payload as Record<string, unknown>)['sub'])
  return tenant === undefined || user === undefined ? undefined : { tenant, user }
}

function parseId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,9}$/.test(text)) return undefined
  const id = Number(text)
  return id <= 2_147_483_647 ? id : undefined
}

async function loadUser(pool: pg.Pool, claims: { tenant: number; user: number }): Promise<HelpdeskUser | undefined> {
  const result = await pool.query<{ id: number; client_id: number; bu_id: number; username: string }>(
    'SELECT id, client_id, bu_id, username FROM peoples WHERE id = $1 AND client_id = $2 AND is_active',
    [claims.user, claims.tenant],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : { id: row.id, tenant: row.client_id, buId: row.bu_id, username: row.username }
}
