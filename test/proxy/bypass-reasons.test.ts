import t, { type Test } from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer, makeToken, unsignedToken } from '../helpers/tokens.js'
import { rawRequest } from '../helpers/raw-request.js'

const path = '/api/v2/helpdesk/tickets/'

/** Each bypass: X-Cache BYPASS with its reason, the upstream asked every time, nothing stored. */
async function expectBypass(t: Test, h: Awaited<ReturnType<typeof startHarness>>, init: RequestInit, reason: string, url = path) {
  for (let i = 0; i < 2; i++) {
    const res = await h.fetch(url, init)
    t.equal(res.headers.get('x-cache'), 'BYPASS', `${reason}: X-Cache`)
    t.match(res.headers.get('cache-status'), new RegExp(`detail=${reason}$`), `${reason}: Cache-Status`)
    await res.arrayBuffer()
  }
}


t.test('requests without a verified identity are passed through and never cached', async (t) => {
  const h = await startHarness(t)
  const claims = { tenant: 't1', sub: 'u1' }
  await expectBypass(t, h, {}, 'NO-IDENTITY')
  await expectBypass(t, h, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, 'NO-IDENTITY')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${makeToken(claims, { secret: 'wrong-secret' })}` } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${unsignedToken(claims)}` } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${makeToken(claims, { algorithm: 'HS512' })}` } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${makeToken({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })}` } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${makeToken({ ...claims, nbf: Math.floor(Date.now() / 1000) + 600 })}` } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: bearer({ sub: 'u1' }) }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: bearer({ tenant: { id: 1 }, sub: 'u1' }) }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: bearer({ tenant: '', sub: 'u1' }) }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: 'Bearer not.a.token' } }, 'INVALID-TOKEN')
  await expectBypass(t, h, { headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }, 'INVALID-TOKEN')
  t.equal(h.origin.count('GET', path), 24, 'every one of them reached the upstream')
})

t.test('a per-user route needs a user: a gateway identity without the user header bypasses', async (t) => {
  // A token without its user claim is no identity at all (INVALID-TOKEN, token-without-user-claim-bypasses).
  const h = await startHarness(t, { identity: 'identity:\n  header: { tenant: x-tenant-id, user: x-user-id }\n' })
  await expectBypass(t, h, { headers: { 'x-tenant-id': 't1' } }, 'NO-USER')
})

t.test('other methods, method overrides and unsafe paths bypass', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  await expectBypass(t, h, { method: 'POST', headers, body: '{}' }, 'UNSUPPORTED-METHOD')
  await expectBypass(t, h, { method: 'DELETE', headers }, 'UNSUPPORTED-METHOD')
  await expectBypass(t, h, { headers: { ...headers, 'x-http-method-override': 'DELETE' } }, 'METHOD-OVERRIDE')
  await expectBypass(t, h, { headers: { ...headers, 'x-original-url': '/admin/' } }, 'METHOD-OVERRIDE')
  for (const target of ['/api/v2/attendance/a%2fb/', '/api/v2/attendance//x', '/api/v2/attendance/x;jsessionid=1']) {
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(h.url, target, { headers })
      t.equal(res.headers['x-cache'], 'BYPASS', target)
      t.match(res.headers['cache-status'], /detail=UNSAFE-PATH$/, target)
    }
    t.equal(h.origin.count('GET', target), 2, `${target} reached the upstream exactly as sent, twice`)
  }
  // Single dot segments are resolved by the forwarder (WHATWG URL rules) before the upstream sees them.
  for (const target of ['/api/v2/attendance/./x', '/api/v2/attendance/%2E/x']) {
    const res = await rawRequest(h.url, target, { headers })
    t.equal(res.headers['x-cache'], 'BYPASS', target)
  }
  t.equal(h.origin.count('GET', '/api/v2/attendance/x'), 2)
  // Traversal out of the route is refused outright by @fastify/http-proxy, before any cache or upstream.
  const traversal = await rawRequest(h.url, '/api/v2/attendance/%2e%2e/helpdesk/tickets/', { headers })
  t.equal(traversal.status, 400)
  t.equal(h.origin.requests.filter((r) => r.url.includes('%2e')).length, 0)
})

t.test('client no-cache is ignored by default and honoured where the route opts in', async (t) => {
  const h = await startHarness(t, {
    routes: `routes:
  - { name: plain, path: /plain/, ttl: 1m, scope: tenant }
  - { name: refreshable, path: /refreshable/, ttl: 1m, scope: tenant, honourClientNoCache: true }
`,
  })
  const headers = { ...bearer({ tenant: 't1', sub: 'u1' }), 'cache-control': 'no-cache', pragma: 'no-cache' }
  await h.fetch('/plain/', { headers })
  t.equal((await h.fetch('/plain/', { headers })).headers.get('x-cache'), 'HIT')
  await expectBypass(t, h, { headers }, 'CLIENT-NO-CACHE', '/refreshable/')
})
