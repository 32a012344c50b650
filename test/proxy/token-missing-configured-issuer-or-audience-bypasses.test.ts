import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { nowSeconds, signJwt } from '../helpers/hostile-tokens.js'
import { JWT_SECRET } from '../helpers/tokens.js'
import { expectBypassLeavesEntry, fillVictimEntry } from '../helpers/victim-entry.js'

/**
 * fast-jwt checks iss and aud only when the token carries them; PyJWT, once an issuer or an
 * audience is configured, refuses a token without it (MissingRequiredClaimError). Such a
 * token goes to the upstream as it is, and the entry of its tenant is neither served to it
 * nor rewritten.
 */
const identity = 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: sub }\n    issuer: https://auth.example\n    audience: helpdesk-api\n'

t.test('a token without the configured issuer or audience bypasses', async (t) => {
  const h = await startHarness(t, { identity })
  const sign = (payload: Record<string, unknown>) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: JWT_SECRET })}`
  const claims = { tenant: 'T', sub: 'u1', iat: nowSeconds(), exp: nowSeconds() + 600, iss: 'https://auth.example', aud: 'helpdesk-api' }
  const victim = await fillVictimEntry(h, '/api/v2/people/search/?q=iss', { authorization: sign(claims) })
  const { iss: _iss, ...withoutIssuer } = claims
  const { aud: _aud, ...withoutAudience } = claims
  await expectBypassLeavesEntry(t, h, victim, sign(withoutIssuer), 'no iss')
  await expectBypassLeavesEntry(t, h, victim, sign(withoutAudience), 'no aud')
  await expectBypassLeavesEntry(t, h, victim, sign({ ...claims, aud: 'billing-service' }), 'another aud (the control: fast-jwt refuses it)')
})
