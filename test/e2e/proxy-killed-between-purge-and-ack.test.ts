import t from 'tap'
import { formatLsn, parseLsn } from '../../src/invalidation/lsn.js'
import { DATABASE_URL } from '../helpers/env.js'
import { waitFor } from '../helpers/replication.js'
import { startTcpFreezer } from '../helpers/tcp-freezer.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH, type CounterDatabase } from '../helpers/counter-world.js'
import { ownKeyPrefix, spawnProxyProcess, writeCounterProcessConfig, type ProxyProcess } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize } from '../helpers/mixed-load.js'
import { makeStampLedger } from '../helpers/stamp-ledger.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * The proxy process is killed with SIGKILL after it purged some commits and before
 * Postgres received their acknowledgement; started again, it is handed those commits again
 * and applies them, and every write of the run is applied.
 *
 * How "between purge and ack" is made, without hooks in the product: the proxy reaches
 * Postgres through a TCP relay. While writes flow, the proxy is paused (SIGSTOP) so that
 * commits pile up, sent by the walsender but not yet read by the proxy; the relay then stops
 * forwarding in both directions (what was already relayed to the proxy is still delivered,
 * nothing it sends reaches Postgres) and the proxy resumes (SIGCONT). It purges the commits
 * it holds and acknowledges them into the void. Once its admin /status reports an applied
 * position past the slot's confirmed_flush_lsn, it is killed with SIGKILL: for Postgres,
 * exactly a process that died after its purges and before its acks. The stamps of those
 * purged-but-unacknowledged writes are then recreated, so that the restarted proxy must
 * delete them again: they are replayed, not skipped.
 */
const lsn = (text: string | null | undefined): bigint => (text ? parseLsn(text) : 0n)

async function confirmedFlush(db: CounterDatabase): Promise<bigint> {
  const row = (await db.pool.query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [db.slot])).rows[0]
  return lsn(row?.lsn)
}

async function sentLsn(db: CounterDatabase): Promise<bigint> {
  const row = (await db.pool.query<{ lsn: string | null }>(
    'SELECT r.sent_lsn::text AS lsn FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1', [db.slot])).rows[0]
  return lsn(row?.lsn)
}

async function leaderOf(proxy: ProxyProcess): Promise<void> {
  await waitFor(async () => (await proxy.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the proxy to lead replication' })
}

t.test('commits purged but not acknowledged when the proxy dies are replayed after its restart; none lost', async (t) => {
  const db = await createCounterDatabase(t, 'purgeack', { tenants: 6 })
  const origin = await startCounterOrigin(t, db)
  const keyPrefix = ownKeyPrefix(t, 'purgeack')
  const configFile = await writeCounterProcessConfig(db, { keyPrefix, freshnessBound: '2s', heartbeatInterval: '200ms' })
  const pg = new URL(DATABASE_URL)
  const freezer = await startTcpFreezer({ host: pg.hostname, port: Number(pg.port || 5432) })
  t.teardown(() => freezer.close().catch(() => {}))
  const relayed = new URL(db.url)
  relayed.port = String(freezer.port)

  const first = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: relayed.toString() })
  await leaderOf(first)
  const probe = { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'probe' })}` } }
  await waitFor(async () => (await fetch(first.url + COUNTER_PATH, probe)).headers.get('x-cache') !== 'BYPASS', { timeoutMs: 20_000, what: 'the first watermark' })
  const ledger = await makeStampLedger(t, keyPrefix)
  let target = first.url
  const load = startLoad({ targets: () => [target], pool: db.pool, tenants: db.tenants, readers: 2, writers: 4, writeIntervalMs: 3, ledger, readTimeoutMs: 5000 })
  await waitFor(async () => ((await first.replication())?.transactionsApplied ?? 0) > 60, { timeoutMs: 30_000, what: 'writes applied by the first proxy' })

  // Pause the proxy while commits keep coming, until the walsender has sent 30 more of them.
  first.child.kill('SIGSTOP')
  const stoppedAt = Date.now()
  const pending = await waitFor(async () => {
    const after = load.history.writes.filter((w) => w.startedAt > stoppedAt && w.lsnBeforeCommit !== undefined)
    if (after.length < 30) return false
    const newest = after.reduce((max, w) => (lsn(w.lsnBeforeCommit) > max ? lsn(w.lsnBeforeCommit) : max), 0n)
    return (await sentLsn(db)) > newest ? after.length : false
  }, { timeoutMs: 20_000, what: 'commits sent to the paused proxy' })
  freezer.freeze()
  first.child.kill('SIGCONT')
  const between = await waitFor(async () => {
    const status = await first.replication()
    const confirmed = await confirmedFlush(db)
    return status?.lastAppliedLsn && lsn(status.lastAppliedLsn) > confirmed ? { applied: status.lastAppliedLsn, confirmed } : false
  }, { timeoutMs: 20_000, what: 'a commit purged whose acknowledgement never reached Postgres' })
  await first.kill('SIGKILL')
  t.comment(`killed with ${pending}+ commits sent while paused; applied up to ${between.applied}, Postgres confirmed ${formatLsn(between.confirmed)}`)

  // What Postgres never heard about, but the proxy had purged: recreate those stamps.
  const confirmed = await confirmedFlush(db)
  const sofar = load.history.writes.filter((w) => w.ledgered && w.error === undefined && lsn(w.lsnBeforeCommit) >= confirmed).map((w) => w.id)
  const stillThere = new Set(await ledger.unapplied(sofar))
  const purgedNotAcked = sofar.filter((id) => !stillThere.has(id))
  t.ok(purgedNotAcked.length > 0, `${purgedNotAcked.length} writes were purged and not acknowledged when the proxy died`)
  await ledger.reacquire(purgedNotAcked)
  await freezer.close() // the relayed walsender sees the connection end and frees the slot

  const second = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  target = second.url
  const restartedAt = Date.now()
  await leaderOf(second)
  t.comment(`the restarted proxy leads replication ${Date.now() - restartedAt} ms after it started`)
  await waitFor(async () => ((await second.replication())?.transactionsApplied ?? 0) > 60, { timeoutMs: 30_000, what: 'writes applied after the restart' })
  const history = await load.stop()

  const committed = await db.committedWrites()
  const ledgered = history.writes.filter((w) => w.ledgered && committed.has(w.id)).map((w) => w.id)
  const left = await waitFor(async () => { const l = await ledger.unapplied(ledgered); return l.length === 0 ? l : false }, { timeoutMs: 30_000, what: 'every write applied' })
    .catch(() => ledger.unapplied(ledgered))
  t.same(left.filter((id) => purgedNotAcked.includes(id)), [], `the ${purgedNotAcked.length} purged-but-unacknowledged writes were replayed and purged again`)
  t.same(left, [], `${ledgered.length - left.length} of ${ledgered.length} committed writes applied`)
  t.equal(ledgered.length, committed.size, 'every committed write was counted')

  const lastCommit = Math.max(...history.writes.map((w) => w.endedAt))
  await waitFor(async () => ((await second.watermark()) ?? 0) > lastCommit, { timeoutMs: 20_000, what: 'the watermark to pass the last commit' })
  const versions = await db.versions()
  for (const tenant of db.tenants) {
    const res = await fetch(second.url + COUNTER_PATH, { headers: { authorization: `Bearer ${makeToken({ tenant, sub: 'check' })}` } })
    const body = await res.json() as { version: number }
    t.equal(body.version, versions.get(tenant), `tenant ${tenant}: fresh through the restarted proxy (${res.headers.get('x-cache')})`)
  }
  const summary = summarize(history)
  t.comment(describeSummary(summary))
  t.equal(summary.byKind['proxy-5xx'], 0, 'no 5xx made by the proxy (connection errors while it was down are counted apart)')
  t.equal(findStaleReads(history.reads, committedWrites(history, committed), 2000).length, 0, 'no stale read beyond the freshness bound')
})
