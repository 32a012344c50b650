import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { startRedisCluster, type ClusterNode, type RedisCluster } from '../helpers/redis-cluster.js'

// The harness itself: a real cluster that spreads keys over its masters, loses a master's slots
// (and only those) when it is killed, serves them again after a restart or a failover, and
// leaves nothing behind.

/** Errors at once instead of retrying: a dead master's slots fail, every other slot answers. */
const FAIL_FAST: ClusterOptions = {
  enableOfflineQueue: false,
  retryDelayOnFailover: 0,
  retryDelayOnClusterDown: 0,
  retryDelayOnTryAgain: 0,
  redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 500 },
}
const KEYS = Array.from({ length: 200 }, (_, i) => `harness:${i}`)

async function connect(t: Test, cluster: RedisCluster): Promise<Cluster> {
  const client = new Cluster(cluster.urls, FAIL_FAST)
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await new Promise((resolve) => client.once('ready', resolve))
  // Without an offline queue, commands for a master whose connection is still opening fail.
  await Promise.all(client.nodes('master').map((node) => (node.status === 'wait' ? node.connect() : Promise.resolve())))
  return client
}

const ownerOf = (client: Cluster, key: string) => client.slots[calculateSlot(key)]?.[0]
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { return await attempt() } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err })
      await sleep(50)
    }
  }
}

async function keysOn(node: ClusterNode): Promise<string[]> {
  const direct = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 0 })
  try { return (await direct.keys('harness:*')).sort() } finally { direct.disconnect() }
}

async function refused(port: number): Promise<boolean> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on('error', () => {})
  try { await probe.connect(); return false } catch { return true } finally { probe.disconnect() }
}

t.test('3 masters: keys spread, a killed master loses only its slots, a restart brings them back', async (t) => {
  const cluster = await startRedisCluster()
  t.teardown(() => cluster.stop())
  t.equal(cluster.nodes.length, 3)
  t.same(await Promise.all(cluster.nodes.map((n) => n.role())), ['master', 'master', 'master'])
  t.same(cluster.urls, cluster.nodes.map((n) => `redis://127.0.0.1:${n.port}`))

  const client = await connect(t, cluster)
  await Promise.all(KEYS.map((key) => client.set(key, `v-${key}`)))
  t.same(await Promise.all(KEYS.map((key) => client.get(key))), KEYS.map((key) => `v-${key}`), 'all 200 read back')

  // Every master holds exactly the keys of its slots, and each holds some.
  for (const node of cluster.nodes) {
    const expected = KEYS.filter((key) => ownerOf(client, key) === `127.0.0.1:${node.port}`).sort()
    t.ok(expected.length > 30, `master ${node.port} owns ${expected.length} of the keys`)
    t.same(await keysOn(node), expected, `master ${node.port} holds its keys`)
  }

  const victim = cluster.nodes[0] as ClusterNode
  const onVictim = KEYS.filter((key) => ownerOf(client, key) === `127.0.0.1:${victim.port}`)
  const elsewhere = KEYS.filter((key) => !onVictim.includes(key))
  await victim.kill()
  t.equal(await victim.role(), 'down')

  t.same(await Promise.all(elsewhere.map((key) => client.get(key))), elsewhere.map((key) => `v-${key}`), 'the other masters keep serving')
  const started = Date.now()
  const dead = await Promise.allSettled(onVictim.map((key) => client.get(key)))
  t.ok(dead.every((r) => r.status === 'rejected'), 'every key of the dead master fails')
  t.ok(Date.now() - started < 2000, `and fails fast (${Date.now() - started} ms for ${onVictim.length} keys)`)
  t.same(await Promise.all(elsewhere.map((key) => client.set(key, 'again'))), elsewhere.map(() => 'OK'), 'writes elsewhere too')

  await victim.restart()
  await cluster.waitUntilHealthy()
  t.equal(await victim.role(), 'master', 'it rejoins as the master of its slots')
  // No persistence: it comes back empty, but it serves its slots again.
  await eventually('the restarted master serves', () => client.set(onVictim[0] as string, 'back'))
  await Promise.all(onVictim.map((key) => client.set(key, 'back')))
  t.same(await Promise.all(onVictim.map((key) => client.get(key))), onVictim.map(() => 'back'))
  t.same(await keysOn(victim), [...onVictim].sort())

  client.disconnect()
  await cluster.stop()
  t.notOk(existsSync(cluster.dir), 'stop() removes the data directory')
  for (const node of cluster.nodes) t.ok(await refused(node.port), `nothing listens on ${node.port} any more`)
  t.equal(await victim.role(), 'down')
})

t.test('1 replica per master: a killed master is replaced by its replica, the cluster serves every slot', async (t) => {
  const cluster = await startRedisCluster({ replicasPerMaster: 1 })
  t.teardown(() => cluster.stop())
  t.equal(cluster.nodes.length, 6)
  const roles = await Promise.all(cluster.nodes.map((n) => n.role()))
  t.same([...roles].sort(), ['master', 'master', 'master', 'replica', 'replica', 'replica'])

  const client = await connect(t, cluster)
  await Promise.all(KEYS.map((key) => client.set(key, `v-${key}`)))
  // Each write must have reached the replica before the master goes (WAIT on the connections that wrote).
  t.same(await Promise.all(client.nodes('master').map((node) => node.wait(1, 5000))), [1, 1, 1])

  const victim = cluster.nodes[roles.indexOf('master')] as ClusterNode
  const replicas = cluster.nodes.filter((_, i) => roles[i] === 'replica')
  await victim.kill()
  const promoted = await eventually('a replica is promoted', async () => {
    const now = await Promise.all(replicas.map((n) => n.role()))
    const index = now.indexOf('master')
    if (index < 0) throw new Error(`replicas say ${now.join(', ')}`)
    return replicas[index] as ClusterNode
  })
  t.pass(`replica ${promoted.port} took over from ${victim.port}`)
  await cluster.waitUntilHealthy()

  const values = await eventually('every slot is served', async () => {
    const got = await Promise.all(KEYS.map((key) => client.get(key)))
    if (got.some((v, i) => v !== `v-${KEYS[i]}`)) throw new Error('not yet')
    return got
  })
  t.equal(values.length, 200, 'all 200 keys, with their values, after the failover')
  t.ok(client.nodes('master').some((node) => node.options.port === promoted.port), 'the client knows the new master')

  await victim.restart()
  t.equal(await eventually('the old master rejoins', async () => {
    const role = await victim.role()
    if (role !== 'replica') throw new Error(role)
    return role
  }), 'replica', 'the old master comes back as a replica')
  await cluster.waitUntilHealthy()
})
