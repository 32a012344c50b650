import { createSigner } from 'fast-jwt'

export const JWT_SECRET = 'test-secret-with-enough-entropy-0123456789'

/** Within an hour unless the claims or options set exp: the proxy refuses a token without one. */
const DEFAULT_LIFETIME_SEC = 3600

export function makeToken(claims: Record<string, unknown>, options: { secret?: string; algorithm?: string; expiresIn?: number; notBefore?: number } = {}): string {
  const expiring = 'exp' in claims || options.expiresIn !== undefined ? claims : { ...claims, exp: Math.floor(Date.now() / 1000) + DEFAULT_LIFETIME_SEC }
  const sign = createSigner({
    key: options.secret ?? JWT_SECRET,
    algorithm: (options.algorithm ?? 'HS256') as 'HS256',
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
    ...(options.notBefore !== undefined ? { notBefore: options.notBefore } : {}),
  })
  return sign(expiring)
}

export function bearer(claims: Record<string, unknown>): Record<string, string> {
  return { authorization: `Bearer ${makeToken(claims)}` }
}

/** A structurally valid token with `alg: none` and no signature. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`
}
