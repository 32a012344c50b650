import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * djangorestframework-simplejwt signs access and refresh tokens with one key and the same
 * claims, and refuses a refresh token as a bearer token ("Token has wrong type"). With
 * `require: { token_type: access }`, the proxy refuses it too: a refresh token (or one without
 * the claim) goes to the upstream as it is and never reads or writes the entry.
 */
t.test('a token whose required claim value differs (a simplejwt refresh token) bypasses', async (t) => {
  const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: user_id }\n    require: { token_type: access }\n'
  const h = await startHarness(t, { identity })
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  const claims = { tenant: 'T', user_id: 7, iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'j1' }
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=type', { authorization: sign({ ...claims, token_type: 'access' }) })
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, token_type: 'refresh', exp: nowSeconds() + 86_400 }), 'a refresh token')
  await expectBypassLeavesEntry(t, h, victim, sign(claims), 'no token_type')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, token_type: ['access'] }), 'token_type a list')
})

t.test('a token without a requiredClaims claim bypasses (simplejwt refuses a token without jti: "Token has no id")', async (t) => {
  const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: user_id }\n    require: { token_type: access }\n    requiredClaims: [jti]\n'
  const h = await startHarness(t, { identity })
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  const claims = { tenant: 'T', user_id: 7, iat: nowSeconds(), exp: nowSeconds() + 600, token_type: 'access' }
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=jti', { authorization: sign({ ...claims, jti: 'a1' }) })
  await expectBypassLeavesEntry(t, h, victim, sign(claims), 'no jti')
  const other = await h.fetch(victim.path, { headers: { authorization: sign({ ...claims, jti: 'b2' }) } })
  t.equal(other.headers.get('x-cache'), 'HIT', 'any jti value will do')
})
