import t from 'tap'
import { createCounterDatabase, startCounterOrigin } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { startLoad } from '../helpers/mixed-load.js'
import { makeStampLedger } from '../helpers/stamp-ledger.js'
import { checkRun, msUntilRead, waitForReadsAfter } from '../helpers/chaos.js'
import { waitFor } from '../helpers/replication.js'

/**
 * Chaos: the upstream becomes slow (within upstreamTimeout), then slower than it, then
 * unreachable (its port closed), then comes back, under a steady mixed load. Entries still
 * valid keep being served as HITs throughout; misses get the upstream's answer, or a 504/502 that
 * names the upstream as the cause (never another 5xx); after it is back, no 502/504 at all.
 * Writes go on (slowly enough that most entries stay valid for a while) and are all
 * applied; no stale read beyond the bound.
 */
const BOUND_MS = 2000

t.test('the upstream slow, then too slow, then unreachable, then back', async (t) => {
  const db = await createCounterDatabase(t, 'chaosup', { tenants: 20 })
  const origin = await startCounterOrigin(t, db)
  const { proxy, url, keyPrefix } = await startCounterProxy(t, db, origin, { freshnessBound: `${BOUND_MS}ms`, upstreamTimeout: '1s' })
  const ledger = await makeStampLedger(t, keyPrefix)
  await waitFor(async () => ((await proxy.store.readWatermark()) ?? 0) > Date.now() - BOUND_MS, { timeoutMs: 20_000, what: 'the first watermark' })
  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 4, writers: 1, writeIntervalMs: 100, ledger })
  await waitForReadsAfter(load.history, 0, 100)

  const phases: Record<string, number> = {}
  origin.delayMs = 300
  phases.slow = Date.now()
  await waitForReadsAfter(load.history, phases.slow, 40)
  origin.delayMs = 2500
  phases.tooSlow = Date.now()
  await waitFor(() => load.history.reads.filter((r) => r.startedAt >= phases.tooSlow! && r.kind === 'upstream-unavailable').length >= 5, { timeoutMs: 30_000, what: '504s from the too slow upstream' })
  await waitForReadsAfter(load.history, phases.tooSlow, 40)
  await origin.stop()
  phases.unreachable = Date.now()
  await waitFor(() => load.history.reads.filter((r) => r.startedAt >= phases.unreachable! && r.kind === 'upstream-unavailable').length >= 5, { timeoutMs: 30_000, what: '502s from the unreachable upstream' })
  await waitForReadsAfter(load.history, phases.unreachable, 40)
  origin.delayMs = 0
  await origin.start()
  const restoredAt = Date.now()
  const firstMiss = await msUntilRead(load.history, restoredAt, (r) => r.kind === 'ok' && r.xcache === 'MISS')
  await waitForReadsAfter(load.history, restoredAt, 100)
  const history = await load.stop()

  const during = (from: number, to: number) => history.reads.filter((r) => r.startedAt >= from && r.startedAt < to)
  for (const [name, from, to] of [['slow', phases.slow, phases.tooSlow], ['too slow', phases.tooSlow, phases.unreachable], ['unreachable', phases.unreachable, restoredAt]] as const) {
    const reads = during(from, to)
    const hits = reads.filter((r) => r.xcache === 'HIT').length
    const unavailable = reads.filter((r) => r.kind === 'upstream-unavailable').length
    t.comment(`${name}: ${reads.length} reads, ${hits} HIT, ${unavailable} 502/504 naming the upstream`)
  }
  // Writes go on during the fault and invalidate tenant after tenant, which the upstream cannot refill.
  const faulty = during(phases.tooSlow, restoredAt)
  t.ok(faulty.some((r) => r.xcache === 'HIT'), `while the upstream failed, still-valid entries were served (${faulty.filter((r) => r.xcache === 'HIT').length} HIT)`)
  const afterBack = history.reads.filter((r) => r.startedAt >= restoredAt && r.kind === 'upstream-unavailable')
  t.equal(afterBack.length, 0, 'no 502/504 once the upstream is back')
  await checkRun(t, { db, history, boundMs: BOUND_MS, ledger, allowed: ['upstream-unavailable'], recovery: { 'first MISS answered after the upstream was back': firstMiss } })
})
