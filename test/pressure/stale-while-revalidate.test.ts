import t from 'tap'
import { makeManualClock } from '../../src/clock.js'
import { startHarness, eventually } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const routes = 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, tags: ["r:{tenant}"], staleWhileRevalidate: 30s }\n'
const headers = bearer({ tenant: 't1', sub: 'u1' })

t.test('after the ttl, within the window: STALE at once and exactly one background refresh', async (t) => {
  const clock = makeManualClock()
  const h = await startHarness(t, { routes, clock })
  let version = 1
  h.origin.respond = () => ({ body: `v${version}` })
  await h.fetch('/r/', { headers })
  version = 2
  clock.advance(61_000)
  const stale = await Promise.all(Array.from({ length: 5 }, async () => {
    const res = await h.fetch('/r/', { headers })
    return { x: res.headers.get('x-cache'), status: res.headers.get('cache-status'), body: await res.text() }
  }))
  for (const s of stale) {
    t.equal(s.x, 'STALE')
    t.equal(s.body, 'v1')
    t.match(s.status, /hit; ttl=-1; detail=STALE-WHILE-REVALIDATE$/)
  }
  await eventually(async () => (await h.fetch('/r/', { headers })).headers.get('x-cache') === 'HIT', 5000, 'the refresh to land')
  t.equal(await (await h.fetch('/r/', { headers })).text(), 'v2')
  t.equal(h.origin.count('GET', '/r/'), 2, 'one initial fetch and exactly one refresh')
})

t.test('an invalidated entry is never served stale; nor one past the window', async (t) => {
  const clock = makeManualClock()
  const h = await startHarness(t, { routes, clock })
  await h.fetch('/r/', { headers })
  await h.proxy.store.invalidateTags(['r:t1'])
  clock.advance(61_000)
  const invalidated = await h.fetch('/r/', { headers })
  t.equal(invalidated.headers.get('x-cache'), 'MISS')
  t.match(invalidated.headers.get('cache-status'), /INVALIDATED/)
  clock.advance(91_000)
  const tooOld = await h.fetch('/r/', { headers })
  t.equal(tooOld.headers.get('x-cache'), 'MISS')
  t.match(tooOld.headers.get('cache-status'), /EXPIRED/)
})
