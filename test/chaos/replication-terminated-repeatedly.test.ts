import t from 'tap'
import { createCounterDatabase, startCounterOrigin } from '../helpers/counter-world.js'
import { checkRun, startLoadedProxy } from '../helpers/chaos.js'
import { nextEvent, waitFor } from '../helpers/replication.js'

/**
 * Chaos: the replication connection is terminated (pg_terminate_backend of the walsender)
 * five times under a steady mixed load, each time as soon as the listener leads again.
 * Every write is applied (by stamp and by transaction), no 5xx, no stale read beyond the
 * bound; the time from each kill to leading again is reported.
 */
const BOUND_MS = 2000

t.test('the replication connection terminated five times under load', async (t) => {
  const db = await createCounterDatabase(t, 'chaoskill')
  const origin = await startCounterOrigin(t, db)
  const { listener, applied, ledger, load } = await startLoadedProxy(t, db, origin, BOUND_MS)
  const recovery: Record<string, number> = {}
  for (let kill = 1; kill <= 5; kill++) {
    const before = applied.size
    await waitFor(() => applied.size >= before + 30, { timeoutMs: 30_000, what: 'writes applied between kills' })
    const leads = nextEvent(listener, 'state', (s) => s === 'leader', 60_000)
    const result = await db.pool.query<{ ok: boolean }>('SELECT pg_terminate_backend(active_pid) AS ok FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [db.slot])
    const killedAt = Date.now()
    t.equal(result.rows[0]?.ok, true, `kill ${kill}: the walsender was terminated`)
    await leads
    recovery[`kill ${kill} -> leader`] = Date.now() - killedAt
  }
  const afterLastKill = applied.size
  await waitFor(() => applied.size >= afterLastKill + 30, { timeoutMs: 30_000, what: 'writes applied after the last kill' })
  const history = await load.stop()
  await checkRun(t, { db, history, boundMs: BOUND_MS, ledger, applied, recovery })
})
