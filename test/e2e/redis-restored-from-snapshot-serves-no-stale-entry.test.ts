import t from 'tap'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH, WRITE_SQL } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { makePersistentRedis } from '../helpers/persistent-redis.js'
import { nextEvent, waitFor } from '../helpers/replication.js'
import { makeToken } from '../helpers/tokens.js'
import type { AppliedTransaction } from '../../src/invalidation/replication-listener.js'

/**
 * Redis comes back older than it was: restarted from its RDB snapshot (persistence on), or
 * a replica promoted after a failover, both lose the writes of their last moments. If those
 * were the purges of committed, already acknowledged changes, the stamps they deleted are
 * back, and the entries built before the change match them again. The guarantees (no lost
 * invalidation across Redis restarts; bounded staleness) require that no read starting
 * more than the freshness bound after the commit serves the old version.
 */
const BOUND_MS = 2000

t.test('a Redis restored from an older snapshot never serves an entry a commit invalidated', async (t) => {
  const redis = await makePersistentRedis(t)
  await redis.start()
  const db = await createCounterDatabase(t, 'snapshot', { tenants: 2 })
  const origin = await startCounterOrigin(t, db)
  const { proxy, url } = await startCounterProxy(t, db, origin, { redisUrl: redis.url, freshnessBound: `${BOUND_MS}ms` })
  const listener = proxy.listener as NonNullable<typeof proxy.listener>
  const as = { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'reader' })}` } }
  const read = async () => {
    const res = await fetch(url + COUNTER_PATH, as)
    return { xcache: res.headers.get('x-cache'), version: ((await res.json()) as { version: number }).version, startedAt: Date.now() }
  }
  await waitFor(async () => (await read()).xcache === 'HIT', { timeoutMs: 20_000, what: 'tenant 1 cached' })
  const cached = await read()
  t.same([cached.xcache, cached.version], ['HIT', 0], 'version 0 is cached')

  await redis.snapshot() // the state Redis will come back with: entry v0 and its stamps
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes('public.counters'))
  await db.pool.query(WRITE_SQL, [1, 1])
  const committedAt = Date.now()
  await applied // purged in Redis and acknowledged to Postgres: it will never be replayed
  await redis.kill()
  await redis.start()
  const restartedAt = Date.now()

  const reads: Awaited<ReturnType<typeof read>>[] = []
  await waitFor(async () => {
    const r = await read().catch(() => undefined)
    if (r) reads.push({ ...r, startedAt: Date.now() })
    return Date.now() > committedAt + BOUND_MS && reads.some((x) => x.xcache !== 'BYPASS' && x.startedAt > committedAt + BOUND_MS)
  }, { timeoutMs: 30_000, what: 'reads served from the restored Redis' })
  const late = reads.filter((r) => r.startedAt > committedAt + BOUND_MS)
  const stale = late.filter((r) => r.version < 1)
  t.comment(`restarted ${restartedAt - committedAt} ms after the commit; reads after the bound: ${late.map((r) => `${r.xcache} v${r.version}`).join(', ')}`)
  t.equal(stale.length, 0, 'no read beyond the bound serves the version the commit replaced')
})
