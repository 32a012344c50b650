import t from 'tap'
import { Redis } from 'ioredis'
import { makeManualClock } from '../../src/clock.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { makeLogger } from '../../src/logger.js'
import { startHarness, eventually, type Harness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'
import type { Test } from 'tap'

const headers = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=l1'

/** Another replica's view of the same Redis: its invalidations reach this proxy only through the feed. */
async function otherReplica(t: Test, h: Harness) {
  const store = makeRedisStore({ url: REDIS_URL, keyPrefix: h.keyPrefix, timeoutMs: 1000, stampTtlMs: 60_000, log: makeLogger('silent') })
  t.teardown(() => store.close())
  await eventually(async () => { try { await store.ping(); return true } catch { return false } }, 5000, 'redis')
  return store
}

async function deleteEntriesBehindTheProxysBack(h: Harness): Promise<void> {
  const redis = new Redis(REDIS_URL)
  const keys = await redis.keys(`${h.keyPrefix}e:*`)
  if (keys.length) await redis.del(...keys)
  redis.disconnect()
}

t.test('hits are served from the in-process copy, which an invalidation on another replica drops', async (t) => {
  const h = await startHarness(t)
  const other = await otherReplica(t, h)
  await h.fetch(path, { headers })
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
  await deleteEntriesBehindTheProxysBack(h)
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'served from L1, Redis not asked')
  await other.invalidateTags(['people:t1'])
  await eventually(async () => (await h.fetch(path, { headers })).headers.get('x-cache') === 'MISS', 5000, 'the feed to drop the copy')
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
  await deleteEntriesBehindTheProxysBack(h)
  await other.invalidateTagPattern('nothing-matches-*')
  await eventually(async () => (await h.fetch(path, { headers })).headers.get('x-cache') === 'MISS', 5000, 'a pattern purge to empty L1')
})

t.test('with database invalidation, L1 is used only while the feed watermark is within the bound', async (t) => {
  const clock = makeManualClock(Date.now())
  const extra = 'invalidation:\n  database: postgres://nobody@127.0.0.1:1/none\n  slot: l1_test\n  publication: l1_test\n  freshnessBound: 5s\n  tables:\n    peoples: ["people:{client_id}"]\n'
  const h = await startHarness(t, { extra, clock })
  const other = await otherReplica(t, h)
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'BYPASS', 'no watermark yet')
  // A cold route's lookup also takes the key's lock when the entry is missing: a bypass releases it.
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  await eventually(async () => (await redis.keys(`${h.keyPrefix}l:*`)).length === 0, 2000, 'the lookup\'s lock released')
  t.same(await redis.keys(`${h.keyPrefix}l:*`), [], 'no lock left after a bypass')
  await other.writeWatermark(clock.now())
  await eventually(async () => (await h.fetch(path, { headers })).headers.get('x-cache') === 'MISS', 5000, 'the watermark')
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
  await deleteEntriesBehindTheProxysBack(h)
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'from L1')
  clock.advance(6000) // the leader stops: no heartbeat for longer than the bound
  const lagging = await h.fetch(path, { headers })
  t.equal(lagging.headers.get('x-cache'), 'BYPASS', 'neither L1 nor Redis is used once the watermark is too old')
  t.match(lagging.headers.get('cache-status'), /REPLICATION-LAG/)
})
