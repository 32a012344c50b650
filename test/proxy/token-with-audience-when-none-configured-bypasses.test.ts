import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { bearer, JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * With no `audience` configured, a token that names one was issued for another service.
 * PyJWT (under djangorestframework-simplejwt) refuses it ("Invalid audience"), so the proxy
 * must not answer it from the cache: it goes to the upstream as it is, and the entry of its
 * tenant is neither served to it nor rewritten.
 */
t.test('a token with an aud claim bypasses when no audience is configured', async (t) => {
  const h = await startHarness(t)
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=aud', bearer({ tenant: 'T', sub: 'u1' }))
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  const claims = { tenant: 'T', sub: 'u1', iat: nowSeconds(), exp: nowSeconds() + 600 }
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, aud: 'billing-service' }), 'aud a string')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, aud: ['billing-service', 'reports'] }), 'aud a list')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, aud: '' }), 'aud empty')
})
