import t from 'tap'
import { startHarness, eventually } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

t.test('a miss that fetched before an invalidation cannot store after it', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/'
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  let version = 1
  h.origin.respond = async () => {
    const body = JSON.stringify({ version })
    if (version === 1) await held // the old data was read; the response is held back
    return { headers: { 'content-type': 'application/json' }, body }
  }
  const slow = h.fetch(path, { headers })
  await eventually(() => h.origin.count('GET', path) === 1, 5000, 'the slow fetch to start')
  version = 2 // the writer commits...
  t.equal(await h.proxy.store.invalidateTags(['tickets:t1:u1']), 1, '...and the invalidation deletes the stamp')
  release()
  const stale = await slow
  t.same(await stale.json(), { version: 1 }, 'the slow client gets what it asked for')
  const next = await h.fetch(path, { headers })
  t.equal(next.headers.get('x-cache'), 'MISS', 'but the late store was refused')
  t.same(await next.json(), { version: 2 })
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
})

t.test('invalidating a tag turns exactly its entries into misses', async (t) => {
  const h = await startHarness(t)
  const u1 = bearer({ tenant: 't1', sub: 'u1' })
  const u2 = bearer({ tenant: 't1', sub: 'u2' })
  const path = '/api/v2/helpdesk/tickets/'
  await h.fetch(path, { headers: u1 })
  await h.fetch(path, { headers: u2 })
  await h.proxy.store.invalidateTags(['tickets:t1:u1'])
  const r1 = await h.fetch(path, { headers: u1 })
  t.equal(r1.headers.get('x-cache'), 'MISS')
  t.match(r1.headers.get('cache-status'), /detail=INVALIDATED$/)
  t.equal((await h.fetch(path, { headers: u2 })).headers.get('x-cache'), 'HIT')
  await h.proxy.store.invalidateTags(['tickets:t1:*'])
  t.equal((await h.fetch(path, { headers: u2 })).headers.get('x-cache'), 'MISS', 'a widened tag reaches every user of the tenant')
})
