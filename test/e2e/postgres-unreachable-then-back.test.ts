import t from 'tap'
import { DATABASE_URL } from '../helpers/env.js'
import { nextEvent, waitFor } from '../helpers/replication.js'
import { startTcpGate } from '../helpers/tcp-gate.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize } from '../helpers/mixed-load.js'
import { makeStampLedger, trackAppliedWrites } from '../helpers/stamp-ledger.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * Postgres goes away for the proxy and comes back, the safe way: the proxy reaches Postgres
 * through a relay that resets every connection and then refuses new ones (what a restart
 * looks like from the proxy), while the shared server keeps running for every other suite
 * (test/chaos/postgres-restart.test.ts restarts it for real). Writes go on directly, so
 * changes are committed while the proxy cannot see them. The listener reconnects and
 * resumes from the slot; requests never get a 5xx from the proxy (they BYPASS once the
 * watermark is older than the bound); every write, before, during and after, is applied.
 */
const BOUND_MS = 2000

t.test('the listener survives Postgres becoming unreachable, resumes, and applies every write', async (t) => {
  const db = await createCounterDatabase(t, 'pgaway', { tenants: 6 })
  const origin = await startCounterOrigin(t, db)
  const pg = new URL(DATABASE_URL)
  const gate = await startTcpGate({ host: pg.hostname, port: Number(pg.port || 5432) })
  t.teardown(() => gate.close())
  const gated = new URL(db.url)
  gated.port = String(gate.port)
  const { proxy, url, keyPrefix } = await startCounterProxy(t, db, origin, { databaseUrl: gated.toString(), freshnessBound: `${BOUND_MS}ms` })
  const listener = proxy.listener
  if (!listener) throw new Error('the proxy runs no replication listener')
  const applied = trackAppliedWrites(listener)
  const ledger = await makeStampLedger(t, keyPrefix)
  const probe = { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'probe' })}` } }
  await waitFor(async () => (await fetch(url + COUNTER_PATH, probe)).headers.get('x-cache') !== 'BYPASS', { timeoutMs: 20_000, what: 'the first watermark' })

  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 3, writers: 2, writeIntervalMs: 10, ledger })
  await waitFor(() => applied.size >= 50, { timeoutMs: 30_000, what: 'writes applied before the outage' })

  const disconnected = nextEvent(listener, 'state', (state) => state === 'disconnected')
  await gate.cut()
  const cutAt = Date.now()
  await disconnected
  const writesAtCut = load.history.writes.length
  await waitFor(() => load.history.reads.some((r) => r.startedAt > cutAt && /REPLICATION-LAG/.test(r.cacheStatus ?? '')), { timeoutMs: 20_000, what: 'requests to bypass for replication lag' })
  await waitFor(() => load.history.writes.length >= writesAtCut + 30, { timeoutMs: 20_000, what: 'writes made during the outage' })

  const leads = nextEvent(listener, 'state', (state) => state === 'leader', 60_000)
  await gate.restore()
  const restoredAt = Date.now()
  await leads
  const leaderAfterMs = Date.now() - restoredAt
  const firstHit = await waitFor(() => load.history.reads.find((r) => r.startedAt > restoredAt && r.xcache === 'HIT'), { timeoutMs: 30_000, what: 'hits again' })
  await waitFor(() => load.history.writes.filter((w) => w.startedAt > restoredAt).length >= 30, { timeoutMs: 20_000, what: 'writes after the outage' })
  const history = await load.stop()

  const committed = await db.committedWrites()
  const ids = history.writes.filter((w) => w.ledgered && committed.has(w.id)).map((w) => w.id)
  const duringOutage = history.writes.filter((w) => w.startedAt > cutAt && w.endedAt < restoredAt && committed.has(w.id)).length
  t.equal(ids.length, committed.size, 'every committed write was ledgered')
  const left = await waitFor(async () => { const l = await ledger.unapplied(ids); return l.length === 0 ? l : false }, { timeoutMs: 30_000, what: 'every write applied' })
    .catch(() => ledger.unapplied(ids))
  t.same(left, [], `${ids.length - left.length} of ${ids.length} writes applied, ${duringOutage} of them committed during the outage`)
  await waitFor(() => applied.size >= committed.size || undefined, { timeoutMs: 20_000, what: 'the applied count' }).catch(() => {})
  t.equal(applied.size, committed.size, 'distinct write transactions applied = committed')

  const summary = summarize(history)
  t.comment(`outage ${restoredAt - cutAt} ms; leader again ${leaderAfterMs} ms and first HIT ${firstHit.startedAt - restoredAt} ms after Postgres was reachable again; ${describeSummary(summary)}`)
  t.equal(summary.byKind['proxy-5xx'], 0, 'no 5xx made by the proxy')
  t.equal(summary.byKind['connection-error'], 0, 'every request was answered')
  t.equal(findStaleReads(history.reads, committedWrites(history, committed), BOUND_MS).length, 0, 'no stale read beyond the freshness bound')
})
