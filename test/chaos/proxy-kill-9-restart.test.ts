import t from 'tap'
import { createCounterDatabase, startCounterOrigin } from '../helpers/counter-world.js'
import { ownKeyPrefix, spawnProxyProcess, writeCounterProcessConfig } from '../helpers/counter-proxy.js'
import { startLoad } from '../helpers/mixed-load.js'
import { makeStampLedger } from '../helpers/stamp-ledger.js'
import { checkRun, msUntilRead, waitForWritesAfter } from '../helpers/chaos.js'
import { waitFor } from '../helpers/replication.js'

/**
 * Chaos: the proxy process is killed with SIGKILL under a steady mixed load and started
 * again. While it is down, requests fail to connect (counted apart: no proxy answered, so
 * no 5xx); every write, including those committed while it was down, is applied (by stamp);
 * no stale read beyond the bound. Time to lead again and to the first HIT are reported.
 */
const BOUND_MS = 2000

t.test('the proxy killed with SIGKILL and restarted under load', async (t) => {
  const db = await createCounterDatabase(t, 'chaoskill9')
  const origin = await startCounterOrigin(t, db)
  const keyPrefix = ownKeyPrefix(t, 'chaoskill9')
  const configFile = await writeCounterProcessConfig(db, { keyPrefix, freshnessBound: `${BOUND_MS}ms` })
  const first = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url })
  await waitFor(async () => (await first.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the proxy to lead' })
  await waitFor(async () => ((await first.watermark()) ?? 0) > Date.now() - BOUND_MS, { timeoutMs: 20_000, what: 'the first watermark' })
  const ledger = await makeStampLedger(t, keyPrefix)
  let target = first.url
  const load = startLoad({ targets: () => [target], pool: db.pool, tenants: db.tenants, readers: 3, writers: 2, writeIntervalMs: 10, ledger })
  await waitFor(async () => ((await first.replication())?.transactionsApplied ?? 0) >= 80, { timeoutMs: 30_000, what: 'writes applied before the kill' })
  await first.kill('SIGKILL')
  const killedAt = Date.now()
  await waitForWritesAfter(load.history, killedAt, 20)
  const second = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url, port: Number(new URL(first.url).port) })
  target = second.url
  const startedAt = Date.now()
  await waitFor(async () => (await second.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the restarted proxy to lead' })
  const leaderMs = Date.now() - startedAt
  const firstHit = await msUntilRead(load.history, startedAt, (r) => r.xcache === 'HIT')
  await waitForWritesAfter(load.history, startedAt, 30)
  const history = await load.stop()
  await checkRun(t, { db, history, boundMs: BOUND_MS, ledger, recovery: { 'down for': startedAt - killedAt, 'leader after start': leaderMs, 'first HIT after start': firstHit } })
})
