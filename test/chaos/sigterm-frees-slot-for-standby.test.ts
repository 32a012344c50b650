import t from 'tap'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH } from '../helpers/counter-world.js'
import { ownKeyPrefix, spawnProxyProcess, writeCounterProcessConfig, type ProxyProcess } from '../helpers/counter-proxy.js'
import { startLoad } from '../helpers/mixed-load.js'
import { makeStampLedger } from '../helpers/stamp-ledger.js'
import { checkRun } from '../helpers/chaos.js'
import { waitFor } from '../helpers/replication.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * Chaos: SIGTERM to the leading proxy while a request is in flight and writes flow. The
 * request completes, the process exits 0, and the replication slot is released at once
 * (not after wal_sender_timeout, 60 s here): the standby leads within the deadline, and no
 * write is lost. Like a load balancer, the load stops sending to the draining process first.
 */
const BOUND_MS = 2000

t.test('SIGTERM drains in-flight requests and frees the slot for the standby', async (t) => {
  const db = await createCounterDatabase(t, 'chaosterm')
  const origin = await startCounterOrigin(t, db)
  const keyPrefix = ownKeyPrefix(t, 'chaosterm')
  const configFile = await writeCounterProcessConfig(db, { keyPrefix, freshnessBound: `${BOUND_MS}ms` })
  const a = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  await waitFor(async () => (await a.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the first proxy to lead' })
  const b = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  await waitFor(async () => (await b.replication())?.state === 'standby', { timeoutMs: 30_000, what: 'the second to stand by' })
  await waitFor(async () => ((await b.watermark()) ?? 0) > Date.now() - BOUND_MS, { timeoutMs: 20_000, what: 'the watermark' })
  const ledger = await makeStampLedger(t, keyPrefix)
  const targets: ProxyProcess[] = [a, b]
  const load = startLoad({ targets: () => targets.map((p) => p.url), pool: db.pool, tenants: db.tenants, readers: 2, writers: 2, writeIntervalMs: 10, ledger })
  await waitFor(async () => ((await a.replication())?.transactionsApplied ?? 0) >= 50, { timeoutMs: 30_000, what: 'writes applied by the leader' })

  targets.splice(0, 1) // the load balancer stops sending new requests to the draining process
  origin.delayMs = 1500 // the in-flight request is slow
  const before = origin.requests
  const inflight = fetch(a.url + COUNTER_PATH, { headers: { authorization: `Bearer ${makeToken({ tenant: 99, sub: 'slow' })}` } })
  await waitFor(() => origin.requests > before, { what: 'the in-flight request to reach the upstream' })
  const slot = (await db.pool.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [db.slot])).rows[0]?.pid
  a.child.kill('SIGTERM')
  const signalledAt = Date.now()
  // What a client that was not taken out of rotation would see while it drains (reported).
  const late = await fetch(a.url + COUNTER_PATH, { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'late' })}` } })
    .then((r) => `HTTP ${r.status}`, (err: Error) => `no answer (${(err.cause as { code?: string } | undefined)?.code ?? err.message})`)
  t.comment(`a new request to the draining process: ${late}`)
  const res = await inflight
  t.equal(res.status, 200, 'the in-flight request completed')
  origin.delayMs = 0
  const exit = await a.exited
  t.same(exit, { code: 0, signal: null }, 'the draining process exited cleanly')
  await waitFor(async () => (await b.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the standby to lead (before wal_sender_timeout)' })
  const takeoverMs = Date.now() - signalledAt
  const newPid = (await db.pool.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [db.slot])).rows[0]?.pid
  t.not(newPid, slot, 'another walsender streams the slot')
  const afterTakeover = (await b.replication())?.transactionsApplied ?? 0
  await waitFor(async () => ((await b.replication())?.transactionsApplied ?? 0) >= afterTakeover + 30, { timeoutMs: 30_000, what: 'writes applied by the new leader' })
  const history = await load.stop()
  const timeline = [...a.lines.map((l) => ['A', l] as const), ...b.lines.map((l) => ['B', l] as const)]
    .map(([who, l]) => { try { const j = JSON.parse(l) as { time: number; msg: string }; return { who, time: j.time, msg: j.msg } } catch { return undefined } })
    .filter((e): e is { who: 'A' | 'B'; time: number; msg: string } => e !== undefined && e.time >= signalledAt - 50 && !/applied/.test(e.msg))
    .sort((x, y) => x.time - y.time)
  t.comment(`after SIGTERM: ${timeline.map((e) => `+${e.time - signalledAt}ms ${e.who} ${e.msg}`).join('; ')}`)
  await checkRun(t, { db, history, boundMs: BOUND_MS, ledger, recovery: { 'SIGTERM to standby leading': takeoverMs } })
})
