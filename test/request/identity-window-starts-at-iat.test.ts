import t from 'tap'
import { identityWindow, makeIdentityResolver } from '../../src/request/identity.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { JWT_SECRET } from '../helpers/tokens.js'

/**
 * The window in which a verified token's identity is reused without verifying it again (by
 * the resolver and by the proxy's per-token memo) is the window in which verifying it would
 * accept it: it starts at the later of nbf and iat (less clockTolerance). Were it open from
 * the start, a clock stepped back would reuse a token the verifier now refuses.
 */
t.test('the identity window of a token starts at the later of its nbf and iat, less clockTolerance', async (t) => {
  const resolve = makeIdentityResolver({
    kind: 'jwt',
    jwt: { key: JWT_SECRET, keyKind: 'secret', algorithms: ['HS256'], claims: { tenant: 'tenant', user: 'sub' }, issuer: undefined, audience: undefined, require: {}, requireExpiry: true, requiredClaims: [], clockToleranceSec: 5 },
  })
  const windowOf = (payload: Record<string, unknown>) => {
    const verdict = resolve({ headers: { authorization: `Bearer ${signJwt({ alg: 'HS256' }, payload, { hmac: JWT_SECRET })}` }, headersDistinct: {} })
    if (!verdict.ok) throw new Error(`refused: ${verdict.reason}`)
    return identityWindow(verdict.identity)
  }
  const now = nowSeconds()
  const base = { tenant: 'T', sub: 'u1', exp: now + 600 }
  t.equal(windowOf({ ...base, iat: now - 10 })?.notBefore, (now - 10) * 1000 - 5000, 'iat alone')
  t.equal(windowOf({ ...base, iat: now - 10, nbf: now - 20 })?.notBefore, (now - 10) * 1000 - 5000, 'iat after nbf')
  t.equal(windowOf({ ...base, iat: now - 20, nbf: now - 10 })?.notBefore, (now - 10) * 1000 - 5000, 'nbf after iat')
  t.equal(windowOf({ ...base, iat: now + 3 })?.notBefore, (now + 3) * 1000 - 5000, 'iat ahead, within clockTolerance')
})
