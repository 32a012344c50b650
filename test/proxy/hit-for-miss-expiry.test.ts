import t from 'tap'
import { Redis } from 'ioredis'
import { makeManualClock } from '../../src/clock.js'
import { startHarness } from '../helpers/proxy.js'
import { echoReply } from '../helpers/origin.js'
import { bearer } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'

/**
 * A key answered uncacheably is hit-for-miss for a while: its lookups ask the store for stamps
 * but not for the coalescing lock. When the marker lapses between such a lookup and the
 * request's join, the request leads the key's fetch. It must then take the lock itself (so
 * other replicas wait on it), not read the lookup's "no lock" as another replica's fill and wait
 * out coalesceWait for an announcement that never comes.
 */
t.test('a request that looked up as hit-for-miss and then leads takes the lock and fetches at once', async (t) => {
  const clock = makeManualClock()
  const h = await startHarness(t, { clock })
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/?q=lapse'
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())

  h.origin.respond = () => ({ headers: { 'cache-control': 'no-store' }, body: 'not for caching' })
  const first = await h.fetch(path, { headers })
  await first.arrayBuffer()
  t.equal(first.headers.get('cache-status')?.includes('UNCACHEABLE-NO-STORE'), true, 'the key is now hit-for-miss')

  // The marker lapses while the next request's lookup is in Redis: after the lookup, before the join.
  const store = h.proxy.store as { read: typeof h.proxy.store.read }
  const read = store.read.bind(h.proxy.store)
  let lapsed = false
  store.read = async (...args) => {
    const result = await read(...args)
    if (!lapsed) { lapsed = true; clock.advance(31_000) }
    return result
  }
  let locksDuringFetch: string[] = []
  h.origin.respond = async (req) => {
    locksDuringFetch = await redis.keys(`${h.keyPrefix}l:*`)
    return echoReply(req, 2)
  }
  const started = Date.now()
  const second = await h.fetch(path, { headers })
  await second.arrayBuffer()
  const tookMs = Date.now() - started

  t.ok(lapsed, 'the marker lapsed between lookup and join')
  t.equal(second.headers.get('x-cache'), 'MISS')
  t.equal(locksDuringFetch.length, 1, 'the leader held the key\'s lock while it fetched')
  t.ok(tookMs < 2_500, `no wait for another replica's fill (coalesceWait is 3 s): took ${tookMs} ms`)
  const metrics = await h.proxy.metrics.registry.metrics()
  t.notMatch(metrics, /ccp_coalesced_waits_total\{[^}]*outcome="remote-miss"\} [1-9]/, 'no remote wait was counted')

  const third = await h.fetch(path, { headers })
  await third.arrayBuffer()
  t.equal(third.headers.get('x-cache'), 'HIT', 'what it fetched was stored')
})
