import t from 'tap'
import { startHarness, eventually } from '../helpers/proxy.js'
import { echoReply } from '../helpers/origin.js'
import { bearer } from '../helpers/tokens.js'

/**
 * Concurrent misses for one key make one upstream request, also in the narrow race where a
 * request's lookup is still in Redis while the first fetch stores and settles: that request
 * then finds no entry and no fetch to follow. It takes the response just stored, as a
 * follower would have (HIT, collapsed), instead of asking the upstream a second time. Seen in
 * front of a real Django app: 3 rounds in 30 of 10 concurrent cold requests made 2 fetches.
 */
t.test('a lookup that missed while the key\'s fetch stored takes the stored response, not a second fetch', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/people/search/?q=race'
  let openGate!: () => void
  const gate = new Promise<void>((resolve) => { openGate = resolve })
  h.origin.respond = async (req) => { await gate; return echoReply(req, 1) }

  const first = h.fetch(path, { headers }).then(async (res) => ({ xcache: res.headers.get('x-cache'), body: await res.text() }))
  await eventually(() => h.origin.count('GET', path) === 1, 5000, 'the first fetch at the upstream')

  // The second request's lookup reads Redis now (nothing there), and answers only after the first fetch stored and settled.
  const store = h.proxy.store as { read: typeof h.proxy.store.read }
  const read = store.read.bind(h.proxy.store)
  let releaseRead!: () => void
  const readHeld = new Promise<void>((resolve) => { releaseRead = resolve })
  let lookedUp!: () => void
  const lookupDone = new Promise<void>((resolve) => { lookedUp = resolve })
  store.read = async (...args) => {
    store.read = read
    const result = await read(...args)
    lookedUp()
    await readHeld
    return result
  }
  const second = h.fetch(path, { headers }).then(async (res) => ({ xcache: res.headers.get('x-cache'), status: res.headers.get('cache-status'), body: await res.text() }))
  await lookupDone
  openGate()
  const a = await first
  t.equal(a.xcache, 'MISS')
  await eventually(async () => (await h.proxy.metrics.registry.metrics()).includes('ccp_entries_stored_total{route="people-search",outcome="stored"} 1'), 5000, 'the first fetch stored')
  releaseRead()
  const b = await second
  t.equal(b.xcache, 'HIT', 'the second request is answered with the stored response')
  t.match(b.status, /collapsed/)
  t.equal(b.body, a.body)
  t.equal(h.origin.count('GET', path), 1, 'one upstream request for the key')

  // A request that starts after the store (here, after the key's tenant was invalidated) never gets it that way.
  await h.proxy.store.invalidateTags(['people:t1'])
  const third = await h.fetch(path, { headers })
  await third.arrayBuffer()
  t.equal(third.headers.get('x-cache'), 'MISS', 'a later request after an invalidation fetches afresh')
  t.equal(h.origin.count('GET', path), 2)
})
