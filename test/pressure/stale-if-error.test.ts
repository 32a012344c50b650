import t from 'tap'
import { makeManualClock } from '../../src/clock.js'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })

t.test('within staleIfError a 5xx or an unreachable upstream is answered with the stored response', async (t) => {
  const clock = makeManualClock()
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, tags: ["r:{tenant}"], staleIfError: 5m }\n', clock })
  h.origin.respond = () => ({ headers: { 'content-type': 'text/plain' }, body: 'good' })
  await h.fetch('/r/', { headers })
  clock.advance(120_000)
  h.origin.respond = () => ({ status: 503, headers: { 'content-type': 'text/html', 'retry-after': '5' }, body: 'down' })
  const on503 = await h.fetch('/r/', { headers })
  t.equal(on503.status, 200)
  t.equal(on503.headers.get('x-cache'), 'STALE')
  t.equal(on503.headers.get('content-type'), 'text/plain', 'none of the failed response headers leak')
  t.equal(on503.headers.get('retry-after'), null)
  t.match(on503.headers.get('cache-status'), /fwd=stale; fwd-status=503; ttl=-60; detail=STALE-IF-ERROR$/)
  t.equal(await on503.text(), 'good')

  await h.origin.close()
  const unreachable = await h.fetch('/r/', { headers })
  t.equal(unreachable.headers.get('x-cache'), 'STALE')
  t.equal(await unreachable.text(), 'good')

  clock.advance(300_000)
  const tooLate = await h.fetch('/r/', { headers })
  t.equal(tooLate.status, 502, 'past the window the failure is reported')
})

t.test('an invalidated entry is not served on error unless the route opts in', async (t) => {
  for (const optIn of [false, true]) {
    const h = await startHarness(t, { routes: `routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, tags: ["r:{tenant}"], staleIfError: 5m, serveInvalidatedOnError: ${optIn} }\n` })
    h.origin.respond = () => ({ body: 'old' })
    await h.fetch('/r/', { headers })
    await h.proxy.store.invalidateTags(['r:t1'])
    h.origin.respond = () => ({ status: 500, body: 'boom' })
    const res = await h.fetch('/r/', { headers })
    t.equal(res.status, optIn ? 200 : 500, `serveInvalidatedOnError: ${optIn}`)
    t.equal(res.headers.get('x-cache'), optIn ? 'STALE' : 'MISS')
  }
})
