import t from 'tap'
import { createCounterDatabase, startCounterOrigin } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { startLoad } from '../helpers/mixed-load.js'
import { makePrivateRedis } from '../helpers/redis-server.js'
import { trackAppliedWrites } from '../helpers/stamp-ledger.js'
import { checkRun, msUntilRead, waitForReadsAfter, waitForWritesAfter } from '../helpers/chaos.js'
import { nextEvent, waitFor } from '../helpers/replication.js'

/**
 * Chaos: Redis (a private redis-server, never the shared one) is killed under a steady mixed
 * load and started again, empty. Requests go on from the upstream (BYPASS), never a 5xx;
 * the purges that failed meanwhile are replayed, so every committed write is applied
 * (counted by distinct applied transaction: the stamps died with Redis); no stale read.
 */
const BOUND_MS = 2000

t.test('Redis stopped and started under load', async (t) => {
  const redis = await makePrivateRedis()
  await redis.start()
  t.teardown(() => redis.stop())
  const db = await createCounterDatabase(t, 'chaosredis')
  const origin = await startCounterOrigin(t, db)
  const { proxy, url } = await startCounterProxy(t, db, origin, { redisUrl: redis.url, freshnessBound: `${BOUND_MS}ms` })
  const applied = trackAppliedWrites(proxy.listener as NonNullable<typeof proxy.listener>)
  const states: string[] = []
  proxy.listener?.on('state', (s) => states.push(s))
  await waitFor(async () => ((await proxy.store.readWatermark()) ?? 0) > Date.now() - BOUND_MS, { timeoutMs: 20_000, what: 'the first watermark' })

  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 3, writers: 2, writeIntervalMs: 10 })
  await waitFor(() => applied.size >= 50, { timeoutMs: 30_000, what: 'writes applied before the fault' })
  const listener = proxy.listener as NonNullable<typeof proxy.listener>
  const purgeGaveUp = nextEvent(listener, 'state', (s) => s === 'disconnected', 60_000)
  await redis.stop()
  const stoppedAt = Date.now()
  await purgeGaveUp // the listener retried its purge, gave up, and will replay: the outage is long enough to matter
  await waitForReadsAfter(load.history, stoppedAt, 50)
  await waitForWritesAfter(load.history, stoppedAt, 100)
  const duringOutage = load.history.reads.filter((r) => r.startedAt >= stoppedAt)
  t.ok(duringOutage.every((r) => r.xcache === 'BYPASS'), `every read during the outage bypassed (${duringOutage.length})`)
  await redis.start()
  const restartedAt = Date.now()
  const firstHit = await msUntilRead(load.history, restartedAt, (r) => r.xcache === 'HIT')
  await waitForWritesAfter(load.history, restartedAt, 30)
  const history = await load.stop()
  t.comment(`listener states: ${states.join(' > ')}`)
  await checkRun(t, { db, history, boundMs: BOUND_MS, applied, recovery: { 'outage lasted': restartedAt - stoppedAt, 'first HIT after Redis was back': firstHit } })
})
