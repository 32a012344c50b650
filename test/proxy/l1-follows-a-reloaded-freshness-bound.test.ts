import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { Redis } from 'ioredis'
import { makeManualClock } from '../../src/clock.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { makeLogger } from '../../src/logger.js'
import { startHarness, eventually } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=bound'
// The listener never connects: watermarks come from another replica's store, as a leader's would.
const invalidation = 'invalidation:\n  database: postgres://nobody@127.0.0.1:1/none\n  slot: l1_bound_test\n  publication: l1_bound_test\n  freshnessBound: 10s\n  tables:\n    peoples: ["people:{client_id}"]\n'

t.test('a freshness bound tightened by a reload stops L1 copies as it stops store lookups', async (t) => {
  const clock = makeManualClock(Date.now())
  const h = await startHarness(t, { extra: invalidation, clock })
  const leader = makeRedisStore({ url: REDIS_URL, keyPrefix: h.keyPrefix, timeoutMs: 1000, stampTtlMs: 60_000, log: makeLogger('silent') })
  t.teardown(() => leader.close())
  await eventually(async () => { try { await leader.ping(); return true } catch { return false } }, 5000, 'redis')
  await leader.writeWatermark(clock.now())
  await eventually(async () => (await h.fetch(path, { headers })).headers.get('x-cache') === 'MISS', 5000, 'the watermark')
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'the first hit from Redis admits the copy to L1')
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  await redis.del(...await redis.keys(`${h.keyPrefix}e:*`))
  clock.advance(3000)
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'from L1: the watermark is 3 s old, within 10 s')

  const original = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, original.replace('freshnessBound: 10s', 'freshnessBound: 2s'))
  t.ok((await h.proxy.reload()).ok)
  const lagging = await h.fetch(path, { headers })
  t.equal(lagging.headers.get('x-cache'), 'BYPASS', 'a 3 s old watermark is outside the new 2 s bound, for L1 too')
  t.match(lagging.headers.get('cache-status'), /REPLICATION-LAG/)
})
