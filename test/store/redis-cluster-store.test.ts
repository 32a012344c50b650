import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { makeRedisClusterStore } from '../../src/store/redis-cluster-store.js'
import type { CacheStore } from '../../src/store/store.js'
import { expandWithWildcards, routeTag } from '../../src/tags/tag-template.js'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js'
import { runStoreContract } from '../helpers/store-contract.js'
import { uniquePrefix } from '../helpers/env.js'
import { testLog, waitFor } from '../helpers/replication.js'

/**
 * The store on a real three-master Redis Cluster (loopback, AOF so a restarted master keeps
 * its data). Tenants spread over every master; a master killed, paused or failed over.
 */
const cluster = await startRedisCluster({ persistence: 'aof' })
t.teardown(() => cluster.stop())

async function openStore(t: Test, keyPrefix = uniquePrefix('cluster')): Promise<CacheStore> {
  const store = makeRedisClusterStore({ urls: [cluster.urls[0] as string], keyPrefix, timeoutMs: 500, stampTtlMs: 3_600_000, log: testLog(), watermarkPollMs: 50 })
  t.teardown(() => store.close())
  await waitFor(async () => { await store.ping(); return true }, { timeoutMs: 10_000, what: 'the cluster client' })
  return store
}

/** The tags the proxy gives an entry of the tickets route (`tickets:{tenant}:{user}`, `tickets:{tenant}`). */
const tagsOf = (tenant: string) => expandWithWildcards([`tickets:${tenant}:7`, `tickets:${tenant}`, routeTag('tickets', tenant)])
const keyOf = (tenant: string) => `${tenant}:tickets:digest`
const TENANTS = Array.from({ length: 90 }, (_, i) => String(i))

/** Stores one entry per tenant; returns the stamps each was written with. */
async function fill(store: CacheStore, tenants: readonly string[]): Promise<Map<string, string[]>> {
  const written = new Map<string, string[]>()
  await Promise.all(tenants.map(async (tenant) => {
    const stamps = await store.acquireStamps(tagsOf(tenant))
    if (!(await store.writeIfUnchanged({ key: keyOf(tenant), tags: tagsOf(tenant), stamps, value: Buffer.from(`v${tenant}`), ttlMs: 600_000 }))) throw new Error('write refused')
    written.set(tenant, stamps)
  }))
  return written
}

/** Tenants whose entry still reads back with every stamp it was written with (what the proxy would serve). */
async function servable(store: CacheStore, written: Map<string, string[]>, tenants: readonly string[] = [...written.keys()]): Promise<string[]> {
  const out: string[] = []
  await Promise.all(tenants.map(async (tenant) => {
    const read = await store.read(keyOf(tenant), tagsOf(tenant))
    if (read.entry !== null && read.stamps.every((s, i) => s === written.get(tenant)?.[i])) out.push(tenant)
  }))
  return out.sort((a, b) => Number(a) - Number(b))
}

/** Which master serves each tenant's slot, from the nodes themselves. */
async function ownersOf(c: RedisCluster, tenants: readonly string[]): Promise<Map<string, number>> {
  const redis = new Redis(c.urls[0] as string)
  try {
    const ranges = (await redis.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>
    const owner = (slot: number) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1] ?? -1
    return new Map(tenants.map((tenant) => [tenant, owner(calculateSlot(`{t:${tenant}}`))]))
  } finally {
    redis.disconnect()
  }
}

t.test('the store contract holds on a cluster', async (t) => {
  runStoreContract(t, () => openStore(t), (ms) => new Promise((resolve) => setTimeout(resolve, ms)))
})

t.test('tenants spread over every master; tags, tenant-wide tags and patterns reach exactly their entries', async (t) => {
  const store = await openStore(t)
  const owners = await ownersOf(cluster, TENANTS)
  t.equal(new Set(owners.values()).size, 3, 'the tenants land on all three masters')
  let written = await fill(store, TENANTS)
  t.equal((await servable(store, written)).length, TENANTS.length, 'every entry reads back')

  t.equal(await store.invalidateTags(['tickets:5:7', 'people:6']), 1, 'one stamp existed')
  t.same((await servable(store, written)).includes('5'), false, 'tenant 5 invalidated')
  t.equal((await servable(store, written)).length, TENANTS.length - 1, 'no other tenant touched')

  t.equal(await store.invalidateTags(['tickets:*']), TENANTS.length, 'the tenant-spanning tag: one copy per tenant, on every master')
  t.same(await servable(store, written), [], 'every tenant invalidated')

  written = await fill(store, TENANTS)
  await store.invalidateTagPattern('tickets:1?:*')
  t.same(await servable(store, written), TENANTS.filter((x) => !/^1\d$/.test(x)), 'the pattern purge reached tenants 10-19 on every master, and only them')

  written = await fill(store, TENANTS)
  await store.invalidateTags(['@route:tickets:*'])
  t.same(await servable(store, written), [], 'a purge of a whole route')
  written = await fill(store, TENANTS)
  await store.invalidateTags(['*'])
  t.same(await servable(store, written), [], 'a flush of everything')
})

t.test('the watermark is kept per master and read back by every store', async (t) => {
  const prefix = uniquePrefix('cluster-wm')
  const leader = await openStore(t, prefix)
  const replica = await openStore(t, prefix)
  t.equal(await replica.readWatermark(), null, 'unknown before the first heartbeat')
  await leader.writeWatermark(5000)
  await leader.writeWatermark(4000)
  t.equal(await replica.readWatermark(), 5000, 'never backwards')
  await waitFor(async () => (await replica.read(keyOf('1'), [])).watermark === 5000 && (await replica.read(keyOf('2'), [])).watermark === 5000, { what: 'the polled copy' })
})

t.test('a killed master: its tenants fail fast, the rest keep caching, and its invalidations are not lost', async (t) => {
  const prefix = uniquePrefix('cluster-kill')
  const leader = await openStore(t, prefix)
  const reader = await openStore(t, prefix)
  const owners = await ownersOf(cluster, TENANTS)
  const victim = cluster.nodes.find((n) => n.port === owners.get('0')) as RedisCluster['nodes'][number]
  const onVictim = TENANTS.filter((x) => owners.get(x) === victim.port)
  const elsewhere = TENANTS.filter((x) => owners.get(x) !== victim.port)
  const written = await fill(leader, TENANTS)
  await leader.writeWatermark(Date.now())

  // Should an assertion below stop this test early, the next tests still get a whole cluster.
  t.teardown(async () => {
    if (await victim.role() === 'down') await victim.restart()
    await cluster.waitUntilHealthy()
  })
  await victim.kill()
  await waitFor(async () => {
    const failed = await Promise.all(onVictim.map((x) => reader.read(keyOf(x), tagsOf(x)).then(() => false, () => true)))
    return failed.every(Boolean)
  }, { timeoutMs: 10_000, what: 'reads of the dead master\'s tenants to fail' })
  t.same(await servable(reader, written, elsewhere), elsewhere, 'every other tenant still reads its entry')

  // The database changed every tenant's rows while the master was down.
  await leader.invalidateTags(TENANTS.map((x) => `tickets:${x}:7`))
  t.same(await servable(reader, written, elsewhere), [], 'applied where the masters are up')
  const feedWatermarks: number[] = []
  reader.onInvalidation((event) => { if (event.kind === 'watermark') feedWatermarks.push(event.ms) })
  const now = Date.now()
  await t.rejects(leader.writeWatermark(now), /127\.0\.0\.1:\d+/, 'no new watermark for the dead master, named')
  // Pub/sub is at most once (a subscriber on the dead node moves to another one): heartbeats repeat.
  await waitFor(async () => {
    await leader.writeWatermark(Date.now()).catch(() => undefined)
    return feedWatermarks.some((ms) => ms >= now)
  }, { intervalMs: 200, what: 'the feed watermark: the other replicas\' L1 stays usable' })
  await waitFor(async () => ((await reader.read(keyOf(elsewhere[0] as string), [])).watermark ?? 0) >= now, { what: 'the other masters\' watermark' })
  const refilled = await fill(leader, elsewhere)
  t.equal((await servable(reader, refilled, elsewhere)).length, elsewhere.length, 'caching goes on for the other tenants')

  // A new leader (the old one died too) finds the unapplied slots on the other masters.
  await leader.close()
  const next = await openStore(t, prefix)
  await victim.restart()
  await cluster.waitUntilHealthy()
  await waitFor(async () => { await next.writeWatermark(Date.now()); return true }, { timeoutMs: 20_000, what: 'a watermark for every master' })
  await waitFor(async () => { await reader.read(keyOf(onVictim[0] as string), []); return true }, { timeoutMs: 10_000, what: 'the reader to see the master back' })
  t.same(await servable(reader, written, onVictim), [], 'the dead master came back with its data, but none of its tenants\' old entries is servable')
  const read = await reader.read(keyOf(onVictim[0] as string), tagsOf(onVictim[0] as string))
  t.not(read.entry, null, 'the entry bytes survived the restart (AOF)')
  const refilledAfter = await fill(next, onVictim)
  t.equal((await servable(reader, refilledAfter, onVictim)).length, onVictim.length, 'and its tenants cache again')
})

t.test('a paused master (same run, same data): the unapplied slot is flushed before it gets a watermark, even by the next leader', async (t) => {
  const prefix = uniquePrefix('cluster-pause')
  const leader = await openStore(t, prefix)
  const owners = await ownersOf(cluster, TENANTS)
  const victim = cluster.nodes.find((n) => n.port === owners.get('1')) as RedisCluster['nodes'][number]
  const onVictim = TENANTS.filter((x) => owners.get(x) === victim.port)
  const written = await fill(leader, TENANTS)
  await leader.writeWatermark(Date.now())
  const pid = await processIdOf(victim.port)
  process.kill(pid, 'SIGSTOP')
  try {
    await waitFor(async () => (await leader.read(keyOf(onVictim[0] as string), []).then(() => false, () => true)), { timeoutMs: 10_000, what: 'the paused master to be seen as down' })
    await leader.invalidateTags([`tickets:${onVictim[0]}:7`])
    const status = await leader.describe()
    t.match(status, { kind: 'redis-cluster', condemnedSlots: [calculateSlot(`{t:${onVictim[0]}}`)] }, '/status shows the condemned slot')
    t.same(status.kind === 'redis-cluster' && status.masters.filter((m) => !m.up).map((m) => m.id), [`127.0.0.1:${victim.port}`], 'and which master is down')
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  await cluster.waitUntilHealthy()
  t.equal(await processIdOf(victim.port), pid, 'the same process: its data and run_id are intact')
  // The leader that recorded it is gone; the next one reads the record from the other masters.
  await leader.close()
  const next = await openStore(t, prefix)
  await waitFor(async () => { await next.writeWatermark(Date.now()); return true }, { timeoutMs: 20_000, what: 'a watermark for every master' })
  const slotOfFirst = calculateSlot(`{t:${onVictim[0]}}`)
  const sameSlot = onVictim.filter((x) => calculateSlot(`{t:${x}}`) === slotOfFirst)
  t.same(await servable(next, written, onVictim), onVictim.filter((x) => !sameSlot.includes(x)), 'the unapplied slot\'s tenants are treated as invalid (flushed); the master\'s other slots keep their entries')
})

async function processIdOf(port: number): Promise<number> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 })
  try {
    return Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1])
  } finally {
    redis.disconnect()
  }
}

t.test('a master failed over to its replica: the promoted replica is flushed before its tenants are served', async (t) => {
  const replicated = await startRedisCluster({ replicasPerMaster: 1 })
  t.teardown(() => replicated.stop())
  const keyPrefix = uniquePrefix('cluster-failover')
  const store = makeRedisClusterStore({ urls: [replicated.urls[0] as string], keyPrefix, timeoutMs: 500, stampTtlMs: 3_600_000, log: testLog(), watermarkPollMs: 50 })
  t.teardown(() => store.close())
  await waitFor(async () => { await store.ping(); return true }, { timeoutMs: 10_000, what: 'the cluster client' })
  const owners = await ownersOf(replicated, TENANTS)
  const victim = replicated.nodes.find((n) => n.port === owners.get('2')) as RedisCluster['nodes'][number]
  const onVictim = TENANTS.filter((x) => owners.get(x) === victim.port)
  const written = await fill(store, TENANTS)
  await store.writeWatermark(Date.now())
  await waitFor(async () => (await store.read(keyOf(onVictim[0] as string), [])).watermark !== null, { what: 'the watermark' })

  await victim.kill()
  await waitFor(async () => {
    const now = await ownersOf(replicated, onVictim.slice(0, 1))
    return now.get(onVictim[0] as string) !== victim.port
  }, { timeoutMs: 20_000, what: 'the replica to be promoted' })
  // Asynchronous replication may have lost the last stamp deletions: the promoted replica is another run.
  await waitFor(async () => (await store.read(keyOf(onVictim[0] as string), [])).watermark === null, { timeoutMs: 10_000, what: 'the promoted replica to have no valid watermark' })
  await waitFor(async () => { await store.writeWatermark(Date.now()); return true }, { timeoutMs: 20_000, what: 'a new watermark on the promoted replica' })
  t.same(await servable(store, written, onVictim), [], 'its tenants\' entries were flushed')
  const refilled = await fill(store, onVictim)
  t.equal((await servable(store, refilled, onVictim)).length, onVictim.length, 'and cache again on the new master')
})
