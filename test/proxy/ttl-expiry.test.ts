import t from 'tap'
import { makeManualClock } from '../../src/clock.js'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })

for (const store of ['redis', 'memory'] as const) {
  t.test(`an entry is a HIT until its ttl and a MISS (EXPIRED) after it (${store} store)`, async (t) => {
    const clock = makeManualClock()
    const h = await startHarness(t, { store, clock })
    const path = '/api/v2/helpdesk/tickets/'
    await h.fetch(path, { headers })
    clock.advance(299_000)
    const before = await h.fetch(path, { headers })
    t.equal(before.headers.get('x-cache'), 'HIT')
    t.equal(before.headers.get('age'), '299')
    t.match(before.headers.get('cache-status'), /ttl=1$/)
    clock.advance(1_000)
    const after = await h.fetch(path, { headers })
    t.equal(after.headers.get('x-cache'), 'MISS')
    t.match(after.headers.get('cache-status'), /fwd=stale; detail=EXPIRED$/)
    t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'refreshed by the miss')
    t.equal(h.origin.count('GET', path), 2)
  })
}
