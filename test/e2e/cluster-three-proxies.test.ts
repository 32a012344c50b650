import t from 'tap'
import { waitFor } from '../helpers/replication.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH } from '../helpers/counter-world.js'
import { spawnProxyProcess, writeCounterProcessConfig, type ProxyProcess } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, pause, startLoad, summarize } from '../helpers/mixed-load.js'
import { makeClusterStampLedger } from '../helpers/stamp-ledger.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { uniquePrefix } from '../helpers/env.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * Three proxy processes on a three-master Redis Cluster (AOF), one replication slot, writes
 * flowing. A master is SIGKILLed and restarted, then the replication leader is SIGKILLed.
 * No 5xx, no read staler than the bound, every write applied (or its tenants' entries
 * flushed), exactly one consumer at a time, and caching resumes on every tenant.
 */
t.test('three proxies on a Redis Cluster: a master and then the leader killed under load', async (t) => {
  const cluster = await startRedisCluster({ persistence: 'aof' })
  t.teardown(() => cluster.stop())
  const db = await createCounterDatabase(t, 'cluster', { tenants: 12 })
  const origin = await startCounterOrigin(t, db)
  const keyPrefix = uniquePrefix('cluster-e2e')
  const configFile = await writeCounterProcessConfig(db, { keyPrefix, freshnessBound: '2s', heartbeatInterval: '200ms', redisCluster: true })
  const start = () => spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: db.url, redisCluster: cluster.urls })
  const proxies: ProxyProcess[] = []
  proxies.push(await start())
  await waitFor(async () => (await proxies[0]?.replication())?.state === 'leader', { timeoutMs: 30_000, what: 'the first proxy to lead' }).catch((err) => { t.comment(proxies[0]?.lines.slice(-30).join('\n')); throw err })
  proxies.push(await start(), await start())
  await waitFor(async () => {
    const states = await Promise.all(proxies.map(async (p) => (await p.replication())?.state))
    return states.filter((s) => s === 'leader').length === 1 && states.filter((s) => s === 'standby').length === 2
  }, { timeoutMs: 30_000, what: 'one leader and two standbys' })
  const leader = proxies[0] as ProxyProcess

  const probe = (tenant: number) => ({ headers: { authorization: `Bearer ${makeToken({ tenant, sub: 'probe' })}` } })
  const cacheOf = async (p: ProxyProcess, tenant: number) => {
    const res = await fetch(p.url + COUNTER_PATH, probe(tenant))
    await res.arrayBuffer()
    return res.headers.get('x-cache')
  }
  const everyTenantHits = async () => {
    for (const p of proxies.filter((x) => x.child.exitCode === null && x.child.signalCode === null)) {
      for (const tenant of db.tenants) {
        await cacheOf(p, tenant)
        if (await cacheOf(p, tenant) !== 'HIT') return false
      }
    }
    return true
  }
  await waitFor(everyTenantHits, { timeoutMs: 30_000, what: 'every tenant to hit on every proxy' })

  const ledger = await makeClusterStampLedger(t, keyPrefix, cluster.urls)
  const alive = [...proxies]
  const load = startLoad({ targets: () => alive.map((p) => p.url), pool: db.pool, tenants: db.tenants, readers: 3, writers: 3, writeIntervalMs: 5, ledger })
  await waitFor(async () => ((await leader.replication())?.transactionsApplied ?? 0) > 100, { timeoutMs: 30_000, what: 'writes applied by the leader' })

  const victim = cluster.nodes[1] as (typeof cluster.nodes)[number]
  await victim.kill()
  await pause(3000) // longer than the freshness bound: its tenants bypass, the others go on
  await victim.restart()
  await cluster.waitUntilHealthy()
  await waitFor(async () => ((await leader.replication())?.transactionsApplied ?? 0) > 400, { timeoutMs: 30_000, what: 'writes applied after the master came back' })

  alive.splice(alive.indexOf(leader), 1)
  await leader.kill('SIGKILL')
  const next = await waitFor(async () => {
    for (const p of alive) if ((await p.replication())?.state === 'leader') return p
    return undefined
  }, { timeoutMs: 30_000, what: 'a standby to take over' })
  await waitFor(async () => ((await next.replication())?.transactionsApplied ?? 0) > 50, { timeoutMs: 30_000, what: 'writes applied by the new leader' })
  const history = await load.stop()

  const states = await Promise.all(alive.map(async (p) => (await p.replication())?.state))
  t.same(states.sort(), ['leader', 'standby'], 'exactly one consumer among the survivors')
  const committed = await db.committedWrites()
  const ids = history.writes.filter((w) => w.ledgered && committed.has(w.id)).map((w) => w.id)
  t.ok(ids.length > 400, `${ids.length} writes ledgered`)
  const left = await waitFor(async () => { const l = await ledger.unapplied(ids); return l.length === 0 ? l : false }, { timeoutMs: 30_000, what: 'every write applied' })
    .catch(() => ledger.unapplied(ids))
  t.same(left, [], `${ids.length - left.length} of ${ids.length} writes applied (or their tenants flushed) across a master restart and a leader kill`)
  const summary = summarize(history)
  t.comment(describeSummary(summary))
  t.equal(summary.byKind['proxy-5xx'] ?? 0, 0, 'no 5xx made by the proxies')
  t.equal(findStaleReads(history.reads, committedWrites(history, committed), 2000).length, 0, 'no stale read beyond the freshness bound')
  await waitFor(everyTenantHits, { timeoutMs: 30_000, what: 'caching to resume for every tenant on both surviving proxies' })
  t.pass('every tenant hits again on both surviving proxies')
})
