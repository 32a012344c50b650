import t from 'tap'
import { waitFor } from '../helpers/replication.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH } from '../helpers/counter-world.js'
import { ownKeyPrefix, spawnProxyProcess, writeCounterProcessConfig, type ProxyProcess } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize } from '../helpers/mixed-load.js'
import { makeStampLedger } from '../helpers/stamp-ledger.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * Two proxy processes share one slot and one store (the same config). Exactly one
 * consumes (its /status says leader, and it owns the slot's walsender in
 * pg_stat_replication); the other stands by. The leader is killed with SIGKILL while
 * writes flow; the standby takes over and every write of the run is applied, counted one by
 * one through their stamps.
 */
t.test('the standby takes over from a killed leader and no write is lost', async (t) => {
  const db = await createCounterDatabase(t, 'failover', { tenants: 6 })
  const origin = await startCounterOrigin(t, db)
  const keyPrefix = ownKeyPrefix(t, 'failover')
  const configFile = await writeCounterProcessConfig(db, { keyPrefix, freshnessBound: '2s', heartbeatInterval: '200ms' })
  const a = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  await waitFor(async () => (await a.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the first proxy to lead' })
  const b = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  await waitFor(async () => (await b.replication())?.state === 'standby', { timeoutMs: 30_000, what: 'the second proxy to stand by' })

  const walsender = await db.pool.query<{ pid: number; application_name: string }>(
    'SELECT r.pid, r.application_name FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1', [db.slot])
  t.equal(walsender.rowCount, 1, 'exactly one walsender streams from the slot')
  const probe = { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'probe' })}` } }
  await waitFor(async () => (await fetch(b.url + COUNTER_PATH, probe)).headers.get('x-cache') !== 'BYPASS', { timeoutMs: 20_000, what: 'the shared watermark' })

  const ledger = await makeStampLedger(t, keyPrefix)
  const alive: ProxyProcess[] = [a, b]
  const load = startLoad({ targets: () => alive.map((p) => p.url), pool: db.pool, tenants: db.tenants, readers: 2, writers: 3, writeIntervalMs: 5, ledger })
  await waitFor(async () => ((await a.replication())?.transactionsApplied ?? 0) > 100, { timeoutMs: 30_000, what: 'writes applied by the leader' })
  t.equal((await b.replication())?.transactionsApplied, 0, 'the standby applied nothing while the leader lived')

  alive.splice(alive.indexOf(a), 1)
  await a.kill('SIGKILL')
  const killedAt = Date.now()
  await waitFor(async () => (await b.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the standby to take over' })
  const takeoverMs = Date.now() - killedAt
  await waitFor(async () => ((await b.replication())?.transactionsApplied ?? 0) > 50, { timeoutMs: 30_000, what: 'writes applied by the new leader' })
  const history = await load.stop()

  const committed = await db.committedWrites()
  const ids = history.writes.filter((w) => w.ledgered && committed.has(w.id)).map((w) => w.id)
  t.equal(ids.length, committed.size, 'every committed write was ledgered')
  const left = await waitFor(async () => { const l = await ledger.unapplied(ids); return l.length === 0 ? l : false }, { timeoutMs: 30_000, what: 'every write applied' })
    .catch(() => ledger.unapplied(ids))
  t.same(left, [], `${ids.length - left.length} of ${ids.length} writes applied across the failover`)
  const summary = summarize(history)
  t.comment(`takeover ${takeoverMs} ms after SIGKILL; ${describeSummary(summary)}`)
  t.equal(summary.byKind['proxy-5xx'], 0, 'no 5xx made by the proxies')
  t.equal(findStaleReads(history.reads, committedWrites(history, committed), 2000).length, 0, 'no stale read beyond the freshness bound')
})
