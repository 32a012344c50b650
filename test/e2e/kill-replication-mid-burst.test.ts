import t from 'tap'
import { eventually } from '../helpers/proxy.js'
import { nextEvent, waitFor } from '../helpers/replication.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH, type CounterDatabase } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize } from '../helpers/mixed-load.js'
import { makeStampLedger, trackAppliedWrites } from '../helpers/stamp-ledger.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * The replication connection of the real proxy is terminated (pg_terminate_backend of its
 * walsender) three times in the middle of a burst of SQL writes while readers read through
 * the proxy. Afterwards every write of the burst has been applied, counted one by one
 * (each write's own stamp is gone, and the proxy applied as many distinct write
 * transactions as the database committed), and every tenant reads fresh through the proxy.
 */
const BOUND_MS = 2000

async function terminateWalsender(db: CounterDatabase): Promise<boolean> {
  const result = await db.pool.query<{ ok: boolean }>('SELECT pg_terminate_backend(active_pid) AS ok FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [db.slot])
  return result.rows[0]?.ok === true
}

t.test('every write of a burst is applied across three killed replication connections', async (t) => {
  const db = await createCounterDatabase(t, 'killburst', { tenants: 6 })
  const origin = await startCounterOrigin(t, db)
  const { proxy, url, keyPrefix } = await startCounterProxy(t, db, origin, { freshnessBound: `${BOUND_MS}ms` })
  const listener = proxy.listener
  if (!listener) throw new Error('the proxy runs no replication listener')
  const ledger = await makeStampLedger(t, keyPrefix)
  const applied = trackAppliedWrites(listener)
  const states: string[] = []
  listener.on('state', (state) => states.push(state))
  const as = (tenant: number) => ({ headers: { authorization: `Bearer ${makeToken({ tenant, sub: 'check' })}` } })
  await eventually(async () => (await fetch(url + COUNTER_PATH, as(1))).headers.get('x-cache') !== 'BYPASS', 20_000, 'the first watermark')

  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 2, writers: 4, writeIntervalMs: 5, maxWrites: 900, ledger })
  let kills = 0
  for (const progress of [100, 350, 600]) {
    await waitFor(() => applied.size >= progress, { timeoutMs: 30_000, what: `${progress} writes applied` })
    const leadsAgain = nextEvent(listener, 'state', (state) => state === 'leader', 30_000)
    const inFlight = load.history.writes.length - applied.size
    if (await terminateWalsender(db)) kills++
    t.comment(`kill ${kills}: ${applied.size} writes applied, ${load.history.writes.length} committed, ${inFlight} not yet applied`)
    await leadsAgain
  }
  await load.writersDone
  const history = await load.stop()

  const committed = await db.committedWrites()
  const ids = [...committed.keys()]
  t.equal(committed.size, 900, 'the burst committed 900 writes')
  t.equal(kills, 3, 'three replication connections were terminated mid-burst')
  const unapplied = await waitFor(async () => { const left = await ledger.unapplied(ids); return left.length === 0 ? left : false }, { timeoutMs: 30_000, what: 'every write stamp purged' })
    .catch(async () => ledger.unapplied(ids))
  t.same(unapplied, [], `${ids.length - unapplied.length} of ${ids.length} writes applied (their stamps purged)`)
  await waitFor(() => applied.size >= committed.size || undefined, { timeoutMs: 30_000, what: 'the applied count' }).catch(() => {})
  t.equal(applied.size, committed.size, 'the proxy applied exactly as many distinct write transactions as were committed')

  const lastCommit = Math.max(...history.writes.map((w) => w.endedAt))
  await waitFor(async () => ((await proxy.store.readWatermark()) ?? 0) > lastCommit, { timeoutMs: 20_000, what: 'the watermark to pass the last commit' })
  const versions = await db.versions()
  for (const tenant of db.tenants) {
    const body = await (await fetch(url + COUNTER_PATH, as(tenant))).json() as { version: number }
    t.equal(body.version, versions.get(tenant), `tenant ${tenant} reads its last version through the proxy`)
  }
  const stale = findStaleReads(history.reads, committedWrites(history, committed), BOUND_MS)
  const summary = summarize(history)
  t.comment(`${describeSummary(summary)}; listener states: ${states.join(' > ')}`)
  t.equal(summary.byKind['proxy-5xx'], 0, 'no 5xx made by the proxy')
  t.equal(stale.length, 0, 'no stale read beyond the freshness bound')
})
