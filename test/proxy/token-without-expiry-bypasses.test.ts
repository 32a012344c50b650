import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { bearer, JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * A hit is authorised by the token alone, until the token expires: a token without exp would
 * read cached entries for ever, whatever the upstream has since decided about its user. So exp
 * is required (simplejwt requires it too: "Token has no 'exp' claim"), and a token without it
 * goes to the upstream as it is; the entry of its tenant is neither served to it nor rewritten.
 */
t.test('a token without exp bypasses', async (t) => {
  const h = await startHarness(t)
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=exp', bearer({ tenant: 'T', sub: 'u1' }))
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  await expectBypassLeavesEntry(t, h, victim, sign({ tenant: 'T', sub: 'u1', iat: nowSeconds() }), 'no exp')
  await expectBypassLeavesEntry(t, h, victim, sign({ tenant: 'T', sub: 'u1', iat: nowSeconds(), exp: null }), 'exp null')
  await expectBypassLeavesEntry(t, h, victim, sign({ tenant: 'T', sub: 'u1', iat: nowSeconds(), exp: String(nowSeconds() + 600) }), 'exp a string')
})

t.test('with requireExpiry: false, a token without exp reads the cache, as PyJWT accepts it by default', async (t) => {
  const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: sub }\n    requireExpiry: false\n'
  const h = await startHarness(t, { identity })
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=noexp', bearer({ tenant: 'T', sub: 'u1' }))
  const res = await h.fetch(victim.path, { headers: { authorization: sign({ tenant: 'T', sub: 'u2', iat: nowSeconds() }) } })
  t.equal(res.headers.get('x-cache'), 'HIT')
  t.equal(await res.text(), victim.body)
  const expired = await h.fetch(victim.path, { headers: { authorization: sign({ tenant: 'T', sub: 'u2', exp: nowSeconds() - 60 }) } })
  t.equal(expired.headers.get('x-cache'), 'BYPASS', 'an exp that is there is still checked')
})
