import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { bearer, JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * The identity of a JWT deployment is the tenant and the user claim (claims.user, `sub` by
 * default). A token without a usable user claim is refused by the upstream (simplejwt: "Token
 * contained no recognizable user identification"), so it is not an identity: INVALID-TOKEN,
 * on tenant-wide routes as on per-user ones. Such a token goes to the upstream as it is, and
 * the entry of its tenant is neither served to it nor rewritten.
 */
const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
const claims = { tenant: 'T', iat: nowSeconds(), exp: nowSeconds() + 600 }

t.test('a token without the user claim reads no tenant-wide entry', async (t) => {
  const h = await startHarness(t)
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=sub', bearer({ tenant: 'T', sub: 'u1' }))
  await expectBypassLeavesEntry(t, h, victim, sign(claims), 'no sub')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, sub: '' }), 'sub empty')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, sub: ['u1'] }), 'sub a list')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, sub: null }), 'sub null')
})

t.test('a token without the user claim is an invalid token on a per-user route too', async (t) => {
  const h = await startHarness(t)
  const victim = await fillVictimEntry(h, '/api/v2/helpdesk/tickets/', bearer({ tenant: 'T', sub: 'u1' }))
  await expectBypassLeavesEntry(t, h, victim, sign(claims), 'no sub, per-user route')
})

t.test('the configured user claim is the one required', async (t) => {
  const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: user_id }\n'
  const h = await startHarness(t, { identity })
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=user_id', { authorization: sign({ ...claims, user_id: 7 }) })
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, sub: 'u1' }), 'sub but no user_id')
})
