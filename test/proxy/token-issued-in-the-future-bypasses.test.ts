import t from 'tap'
import { eventually, startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { bearer, JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * A token whose iat is later than now + clockTolerance is refused by PyJWT
 * (ImmatureSignatureError), and an iat that is not a number too; fast-jwt checks iat only
 * with maxAge. Such a token goes to the upstream as it is, and the entry of its tenant is
 * neither served to it nor rewritten. Refusals are never remembered: the same token text is
 * accepted once its iat has come.
 */
const path = '/api/v2/people/search/?q=iat'
const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
const claims = (iat: unknown) => ({ tenant: 'T', sub: 'u1', iat, exp: nowSeconds() + 600 })

t.test('a token issued in the future bypasses until its iat has come', async (t) => {
  const h = await startHarness(t)
  const victim = await fillVictimEntry(h, path, bearer({ tenant: 'T', sub: 'u1' }))
  await expectBypassLeavesEntry(t, h, victim, sign(claims(nowSeconds() + 600)), 'iat in 10 minutes')
  await expectBypassLeavesEntry(t, h, victim, sign(claims(String(nowSeconds()))), 'iat a string')
  const soon = sign(claims(nowSeconds() + 2))
  await expectBypassLeavesEntry(t, h, victim, soon, 'iat in 1 to 2 s')
  await eventually(async () => (await h.fetch(path, { headers: { authorization: soon } })).headers.get('x-cache') === 'HIT', 5000, 'the token once its iat has come')
  t.pass('the same token text hits once its iat has come')
})

t.test('clockTolerance applies to iat: 30 s ahead is accepted, 90 s ahead is not', async (t) => {
  const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: sub }\n    clockTolerance: 60s\n'
  const h = await startHarness(t, { identity })
  const victim = await fillVictimEntry(h, path, bearer({ tenant: 'T', sub: 'u1' }))
  const res = await h.fetch(path, { headers: { authorization: sign(claims(nowSeconds() + 30)) } })
  t.equal(res.headers.get('x-cache'), 'HIT', 'iat 30 s ahead, tolerance 60 s')
  t.equal(await res.text(), victim.body)
  await expectBypassLeavesEntry(t, h, victim, sign(claims(nowSeconds() + 90)), 'iat 90 s ahead, tolerance 60 s')
})
