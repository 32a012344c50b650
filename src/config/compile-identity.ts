import type { IdentityConfig } from './types.js'
import type { ProblemList } from './problems.js'
import { parseDuration } from './duration.js'
import { take } from './compile-route.js'

export interface RawIdentity {
  jwt?: {
    secret?: string; publicKey?: string; algorithms?: string[]
    claims?: { tenant?: string; user?: string }; issuer?: string; audience?: string; clockTolerance?: string | number
    require?: Record<string, string | number | boolean>; requireExpiry?: boolean; requiredClaims?: string[]
  }
  header?: { tenant: string; user?: string }
}

const HMAC = new Set(['HS256', 'HS384', 'HS512'])
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])

export function compileIdentity(raw: RawIdentity, problems: ProblemList): IdentityConfig | undefined {
  if (raw.header) return { kind: 'header', header: { tenant: raw.header.tenant.toLowerCase(), user: raw.header.user?.toLowerCase() } }
  const jwt = raw.jwt
  if (!jwt) return undefined
  const path = ['identity', 'jwt']
  if ((jwt.secret === undefined) === (jwt.publicKey === undefined)) {
    problems.add(path, 'set exactly one of secret (HS256/384/512) or publicKey (PEM, for RS/PS/ES/EdDSA)')
    return undefined
  }
  const keyKind = jwt.secret !== undefined ? 'secret' : 'publicKey'
  const algorithms = jwt.algorithms ?? (keyKind === 'secret' ? ['HS256'] : [])
  if (algorithms.length === 0) problems.add([...path, 'algorithms'], 'list the accepted algorithms for a publicKey, e.g. [RS256]')
  // Mixing families is how HS/RS algorithm confusion happens: a public key used as an HMAC secret.
  const family = keyKind === 'secret' ? HMAC : ASYMMETRIC
  algorithms.forEach((alg, i) => {
    if (!family.has(alg)) problems.add([...path, 'algorithms', i], `${alg} cannot be used with a ${keyKind}; allowed: ${[...family].join(', ')}`)
  })
  if (keyKind === 'publicKey' && !jwt.publicKey?.includes('-----BEGIN')) problems.add([...path, 'publicKey'], 'publicKey must be a PEM ("-----BEGIN PUBLIC KEY-----")')
  return {
    kind: 'jwt',
    jwt: {
      key: (jwt.secret ?? jwt.publicKey) as string,
      keyKind,
      algorithms,
      claims: { tenant: jwt.claims?.tenant ?? 'tenant', user: jwt.claims?.user ?? 'sub' },
      issuer: jwt.issuer,
      audience: jwt.audience,
      require: Object.freeze({ ...jwt.require }),
      requireExpiry: jwt.requireExpiry ?? true,
      requiredClaims: Object.freeze([...(jwt.requiredClaims ?? [])]),
      clockToleranceSec: jwt.clockTolerance === undefined ? 0 : take(parseDuration(jwt.clockTolerance), [...path, 'clockTolerance'], problems, 0) / 1000,
    },
  }
}
