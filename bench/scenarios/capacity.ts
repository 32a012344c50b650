import { createHash, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { loadavg } from 'node:os'
import pino, { type Logger } from 'pino'
import { encodeCachedResponse } from '../../src/request/cached-response.js'
import { makeRedisClusterStore } from '../../src/store/redis-cluster-store.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { tagTenant } from '../../src/store/cluster-layout.js'
import type { CacheStore } from '../../src/store/store.js'
import { expandWithWildcards, routeTag } from '../../src/tags/tag-template.js'
import { startRedisCluster, type RedisCluster } from '../../test/helpers/redis-cluster.js'
import type { BenchContext } from '../lib/context.js'
import { sumMetric } from '../lib/metrics-text.js'
import { startBenchProxy } from '../lib/proxy-process.js'
import { countMatching, deleteByPrefix, readUsedMemory } from '../lib/redis-prefix.js'
import { escapeGlob } from '../../src/store/glob.js'
import { round, summarize, type LatencySummary } from '../lib/stats.js'
import { sleep, waitFor } from '../lib/wait.js'

/**
 * The capacity scenario (issue 7, docs/scaling.md): what the store's request-path operations
 * cost Redis, per operation, on one Redis and on a private 3-master Redis Cluster, and how
 * keys and bytes grow with entries, tenants and users. It drives the store modules directly
 * (makeRedisStore / makeRedisClusterStore), not a proxy: the figures are Redis's side only.
 *
 * Per store, over T tenants x U users x V query variants (a ticket list per user, tagged like
 * a real entry: expandWithWildcards of `tickets:<t>:<u>`, `tickets:<t>` and the route tag):
 * - MISS: the Redis calls of a proxy miss, in order: read (MGET, finds nothing),
 *   acquireStampsAndLock (EVALSHA) and writeIfUnchanged of a ~3 KB entry that ends the fill
 *   (one EVALSHA: writes, unlocks, publishes), on a third of the (t, u, v) in random order, for
 *   BENCH_CAPACITY_SECONDS; the entries neither MISS phase reached are then written (FILL), so
 *   the key and byte figures are always for all T x U x V entries.
 * - MISS-ONE-CALL: the same on another third of the entries, as on a route whose lookups
 *   mostly miss: read with acquire (one EVALSHA of READ_OR_ACQUIRE that finds nothing and takes
 *   the stamps and the lock) and the same writeIfUnchanged.
 * - FILL: those other entries, through the background-refresh path: acquireStamps and
 *   writeIfUnchanged only (two EVALSHA; no read, lock or PUBLISH).
 * - HIT: read(key, tags) of a random filled entry, for BENCH_CAPACITY_SECONDS.
 * - INVALIDATE: invalidateTags([`tickets:<t>:<u>`]) (DEL + PUBLISH) of a user tag, each user once
 *   in random order, then round again, for BENCH_CAPACITY_SECONDS.
 * Each runs at a fixed concurrency from this one Node process. Redis CPU is INFO cpu
 * (used_cpu_user + used_cpu_sys) per node before and after, less the node's idle rate measured
 * just before (on the shared Redis that idle rate includes everyone else's traffic, so its
 * figures are noisier than the cluster's, whose nodes serve only this scenario).
 *
 * Last, the replication consumer's ceiling: BENCH_CAPACITY_COMMITS one-row commits written
 * while no proxy consumes the run's slot, then one proxy started; the drain rate is read from
 * the slot's confirmed_flush_lsn (measureConsumer).
 */
export interface CapacitySettings {
  readonly tenants: number
  readonly usersPerTenant: number
  readonly variantsPerUser: number
  readonly concurrency: number
  readonly seconds: number
  readonly valueBytes: number
  /** Commits of the replication backlog the consumer drains. */
  readonly commits: number
}

export interface NodeCpu {
  readonly node: string
  /** Redis CPU of this phase on this node, idle rate subtracted, in ms. */
  readonly cpuMs: number
  /** The node's idle CPU rate measured before the phase, in ms of CPU per s. */
  readonly idleCpuMsPerSec: number
  /** Command calls during the phase (INFO commandstats delta), by command. */
  readonly calls: Record<string, number>
  /** Share of this phase's request commands (mget, evalsha/eval or del: not publish) served by this node. */
  readonly shareOfCommands: number
}

export interface PhaseResult {
  readonly op: 'miss' | 'miss-one-call' | 'fill' | 'hit' | 'invalidate'
  readonly ops: number
  readonly errors: number
  readonly seconds: number
  /** Ops/s this one Node client achieved at the concurrency. */
  readonly opsPerSec: number
  readonly latencyMs: LatencySummary
  /** Redis CPU (all nodes) per op, idle rate subtracted, in microseconds. */
  readonly redisCpuUsPerOp: number
  /** 1e6 / redisCpuUsPerOp: ops/s one fully busy Redis core would carry at this cost. */
  readonly impliedOpsPerRedisCore: number
  /** Of that CPU, what INFO commandstats attributes to executing the commands themselves (usec). */
  readonly commandUsPerOp: number
  /** This Node process's CPU (user + system) per op, in microseconds: the client side. */
  readonly clientCpuUsPerOp: number
  readonly byNode: NodeCpu[]
  /** HIT: reads that found the entry and every stamp; INVALIDATE: stamps that existed. */
  readonly effective: number
}

export interface GrowthResult {
  readonly entries: number
  readonly tenants: number
  readonly users: number
  readonly entryKeys: number
  readonly stampKeys: number
  readonly lockKeys: number
  /** Stamp keys the model predicts (see docs/scaling.md). */
  readonly stampKeysPredicted: number
  readonly entryValueBytes: number
  /** MEMORY USAGE (SAMPLES 0) averages over sampled keys. */
  readonly memoryUsagePerEntryKey: number
  readonly memoryUsagePerUserStampKey: number
  /** Growth of used_memory (sum over nodes) during the fill, per entry. */
  readonly usedMemoryPerEntry: number
  readonly usedMemoryGrowthMiB: number
  /** Keys per node (cluster) or the prefix's keys (one Redis). */
  readonly keysByNode: Record<string, number>
}

export interface StoreCapacity {
  readonly store: 'redis' | 'redis-cluster'
  readonly nodes: number
  readonly phases: PhaseResult[]
  readonly growth: GrowthResult
  /** Cluster only: CPU of the store's background watermark poll per client process (all masters), ms/s. */
  readonly watermarkPollCpuMsPerSec?: number
}

/**
 * The replication consumer's ceiling: N one-row commits written while no proxy consumes the
 * slot, then one proxy started; how fast the slot's confirmed position crosses them.
 */
export interface ConsumerResult {
  readonly commits: number
  /** How fast one session wrote them (one UPDATE + COMMIT each, synchronous_commit off). */
  readonly writeCommitsPerSec: number
  /** From the first acknowledged batch to the last commit acknowledged. */
  readonly drainSeconds: number
  readonly drainCommitsPerSec: number
  /** From spawning the proxy to the last commit acknowledged (includes start-up). */
  readonly spawnToCaughtUpSeconds: number
  readonly walBytes: number
  /** The proxy's own count of row changes applied (ccp_invalidations_total): should equal `commits`. */
  readonly rowChangesApplied: number
}

export interface CapacityResult {
  readonly settings: CapacitySettings
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] }
  readonly redis: StoreCapacity
  readonly cluster: StoreCapacity | { readonly error: string }
  readonly consumer: ConsumerResult | { readonly error: string }
}

const ENTRY_TTL_MS = 30 * 60_000 // a safety net: the keys expire even if cleanup never runs
const MEMORY_SAMPLES = 200
const IDLE_MS = 1000

export function readCapacitySettings(env: NodeJS.ProcessEnv): CapacitySettings {
  const number = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback)
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`)
    return value
  }
  return {
    tenants: number('BENCH_CAPACITY_TENANTS', 1000),
    usersPerTenant: number('BENCH_CAPACITY_USERS', 20),
    variantsPerUser: number('BENCH_CAPACITY_VARIANTS', 2),
    concurrency: number('BENCH_CAPACITY_CONCURRENCY', 64),
    seconds: number('BENCH_CAPACITY_SECONDS', 4),
    valueBytes: number('BENCH_CAPACITY_VALUE_BYTES', 3072),
    commits: number('BENCH_CAPACITY_COMMITS', 30_000),
  }
}

export async function runCapacity(ctx: BenchContext): Promise<CapacityResult> {
  const settings = readCapacitySettings(process.env)
  const loadBefore = loadavg().map((x) => round(x, 2))
  ctx.say(`  capacity: ${settings.tenants} tenants x ${settings.usersPerTenant} users x ${settings.variantsPerUser} variants, concurrency ${settings.concurrency}, ${settings.seconds}s per phase`)
  const keyPrefix = `${ctx.prefix}cap:`
  const log = pino({ level: 'warn' })

  ctx.say('  capacity: one Redis')
  const single = makeRedisStore({ url: ctx.settings.redisUrl, keyPrefix, timeoutMs: 5000, stampTtlMs: ENTRY_TTL_MS, log })
  let redis: StoreCapacity
  try {
    const target: Target = {
      nodes: [{ id: 'redis', client: ctx.redis }],
      pattern: (kind) => `${escapeGlob(keyPrefix)}${kind}:*`,
    }
    redis = await measureStore(ctx, 'redis', single, target, settings)
  } finally {
    await single.close()
    ctx.say(`  deleted ${await deleteByPrefix(ctx.redis, keyPrefix)} keys of the capacity scenario`)
  }

  let cluster: StoreCapacity | { error: string }
  try {
    cluster = await measureCluster(ctx, settings, log)
  } catch (err) {
    ctx.say(`  capacity: the cluster part failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    cluster = { error: err instanceof Error ? err.message : String(err) }
  }
  let consumer: ConsumerResult | { error: string }
  try {
    consumer = await measureConsumer(ctx, settings)
  } catch (err) {
    ctx.say(`  capacity: the consumer part failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    consumer = { error: err instanceof Error ? err.message : String(err) }
  }
  const loadAfter = loadavg().map((x) => round(x, 2))
  return { settings, loadAverage: { before: loadBefore, after: loadAfter }, redis, cluster, consumer }
}

async function measureConsumer(ctx: BenchContext, settings: CapacitySettings): Promise<ConsumerResult> {
  const pool = ctx.db.pool
  const lsn = async (): Promise<string> => (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn as string
  const slot = async (): Promise<{ confirmed: string; active: boolean }> => {
    const row = (await pool.query<{ confirmed: string; active: boolean }>(
      'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_replication_slots WHERE slot_name = $1', [ctx.db.slot])).rows[0]
    if (row === undefined) throw new Error(`no replication slot ${ctx.db.slot}`)
    return row
  }
  if ((await slot()).active) throw new Error('the slot is in use: the consumer part needs it idle')
  ctx.say(`  consumer: writing ${settings.commits} one-row commits while nobody consumes the slot`)
  const client = await pool.connect()
  let start: string
  let end: string
  let writeMs: number
  try {
    await client.query('SET synchronous_commit TO off')
    start = await lsn()
    const t0 = performance.now()
    await client.query(`
      DO $$
      DECLARE ids bigint[];
      BEGIN
        SELECT array_agg(id ORDER BY id) INTO ids FROM (SELECT id FROM y_helpdesk_ticket ORDER BY id LIMIT ${settings.commits}) s;
        FOR i IN 1 .. ${settings.commits} LOOP
          -- round again over the table when it has fewer rows than commits
          UPDATE y_helpdesk_ticket SET version = version + 1 WHERE id = ids[1 + (i - 1) % array_length(ids, 1)];
          COMMIT;
        END LOOP;
      END $$`)
    writeMs = performance.now() - t0
    end = await lsn()
  } finally {
    client.release()
  }
  const walBytes = Number((await pool.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes', [end, start])).rows[0]?.bytes)
  const past = async (position: string): Promise<boolean> =>
    (await pool.query<{ past: boolean }>('SELECT confirmed_flush_lsn >= $1::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $2', [position, ctx.db.slot])).rows[0]?.past === true
  const spawnedAt = performance.now()
  let firstAckAt: number | undefined
  let caughtUpAt: number | undefined
  const watch = (async () => {
    const initial = (await slot()).confirmed
    while (caughtUpAt === undefined && performance.now() - spawnedAt < 120_000) {
      const now = performance.now()
      if (firstAckAt === undefined && (await slot()).confirmed !== initial) firstAckAt = now
      if (await past(end)) caughtUpAt = now
      else await sleep(10)
    }
  })()
  ctx.say('  consumer: starting one proxy to drain the backlog')
  const proxy = await startBenchProxy(ctx, { label: 'drain', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  let rowChangesApplied: number
  try {
    await watch
    rowChangesApplied = sumMetric(await proxy.metrics(), 'ccp_invalidations_total')
  } finally {
    await proxy.stop()
  }
  if (caughtUpAt === undefined || firstAckAt === undefined) throw new Error('the proxy did not catch up with the backlog within 120 s')
  const drainMs = Math.max(1, caughtUpAt - firstAckAt)
  return {
    commits: settings.commits, writeCommitsPerSec: round((settings.commits / writeMs) * 1000, 0),
    drainSeconds: round(drainMs / 1000, 2), drainCommitsPerSec: round((settings.commits / drainMs) * 1000, 0),
    spawnToCaughtUpSeconds: round((caughtUpAt - spawnedAt) / 1000, 2), walBytes, rowChangesApplied,
  }
}

async function measureCluster(ctx: BenchContext, settings: CapacitySettings, log: Logger): Promise<StoreCapacity> {
  ctx.say('  capacity: starting a private 3-master Redis Cluster')
  const started: RedisCluster = await startRedisCluster({ masters: 3 })
  ctx.cleanup.push('stop the capacity scenario\'s Redis Cluster', () => started.stop())
  const nodes = started.nodes.map((n) => ({ id: String(n.port), client: new Redis({ host: '127.0.0.1', port: n.port, maxRetriesPerRequest: 1 }) }))
  const keyPrefix = 'cap:'
  let store: CacheStore | undefined
  try {
    // The idle cluster, then the idle cluster with one store connected: the difference is
    // what one client's background watermark poll costs the masters.
    const bare = await idleRates(nodes)
    store = makeRedisClusterStore({ urls: started.urls, keyPrefix, timeoutMs: 5000, stampTtlMs: ENTRY_TTL_MS, log })
    const connected = store
    await waitFor('the cluster store to connect', async () => { await connected.ping(); return true })
    await sleep(500)
    const polled = await idleRates(nodes)
    const pollCost = [...polled.values()].reduce((a, b) => a + b, 0) - [...bare.values()].reduce((a, b) => a + b, 0)
    const target: Target = {
      nodes,
      pattern: (kind) => `${escapeGlob(keyPrefix)}{t:*}${kind}:*`,
    }
    const result = await measureStore(ctx, 'redis-cluster', store, target, settings)
    return { ...result, watermarkPollCpuMsPerSec: round(pollCost, 3) }
  } finally {
    await store?.close()
    for (const node of nodes) node.client.disconnect()
    await started.stop()
    ctx.say('  capacity: stopped the Redis Cluster')
  }
}

interface TargetNode { readonly id: string; readonly client: Redis }
interface Target {
  readonly nodes: readonly TargetNode[]
  /** SCAN pattern of this scenario's keys of one kind (e: entries, s: stamps, l: locks). */
  pattern(kind: 'e' | 's' | 'l'): string
}

/** One user's entries: its cache keys (the real key shape: tenant first, then route, then a digest) and tags. */
interface User { readonly tenant: string; readonly user: string; readonly keys: readonly string[]; readonly tags: readonly string[] }

function makeUsers(settings: CapacitySettings): User[] {
  const users: User[] = []
  for (let t = 1; t <= settings.tenants; t++) {
    const tenant = String(t)
    for (let u = 1; u <= settings.usersPerTenant; u++) {
      const user = String(1000 + u)
      const keys = Array.from({ length: settings.variantsPerUser }, (_, v) =>
        `${tenant}:tickets:${createHash('sha256').update(`${tenant}/${user}/${v}`).digest('base64url')}`)
      users.push({ tenant, user, keys, tags: expandWithWildcards([`tickets:${tenant}:${user}`, `tickets:${tenant}`, routeTag('tickets', tenant)]) })
    }
  }
  return users
}

async function measureStore(ctx: BenchContext, kind: StoreCapacity['store'], store: CacheStore, target: Target, settings: CapacitySettings): Promise<StoreCapacity> {
  await waitFor('the store to connect', async () => { await store.ping(); return true })
  const users = makeUsers(settings)
  const body = randomBytes(settings.valueBytes) // incompressible: stands for the proxy's gzip-compressed body
  const memoryBefore = await usedMemory(target.nodes)
  const jobs = users.flatMap((user) => user.keys.map((key) => ({ user, key })))
  shuffle(jobs)

  ctx.say(`  ${kind}: MISS fills for ${settings.seconds}s (at most ${jobs.length})`)
  let valueBytes = 0
  const filled: boolean[] = jobs.map(() => false)
  // A third of the entries for each MISS sequence (so both find nothing), at least a third left for FILL.
  const third = Math.floor(jobs.length / 3)
  const miss = await measurePhase(target, 'miss', { cost: ['mget', 'evalsha', 'eval'], share: ['mget', 'evalsha', 'eval'] }, settings, { count: third, seconds: settings.seconds }, async (i) => {
    const { user, key } = jobs[i] as (typeof jobs)[number]
    filled[i] = true
    const read = await store.read(key, user.tags)
    if (read.entry !== null) throw new Error('the MISS read found an entry')
    const acquired = await store.acquireStampsAndLock(user.tags, { key, ttlMs: 5000 })
    const now = Date.now()
    const value = encodeCachedResponse({
      status: 200, headers: [['content-type', 'application/json'], ['content-encoding', 'gzip']], body, storedAt: now, expiresAt: now + ENTRY_TTL_MS,
      stamps: acquired.stamps.join(' '), etag: '"capacity"', storedEncoding: 'gzip',
    })
    valueBytes = value.length
    return store.writeIfUnchanged({ key, tags: user.tags, stamps: acquired.stamps, value, ttlMs: ENTRY_TTL_MS, endsFillOf: acquired.locked ? key : undefined })
  })
  ctx.say(`  ${kind}: MISS fills in one call before the upstream (a route whose lookups mostly miss) for ${settings.seconds}s`)
  const missOneCall = await measurePhase(target, 'miss-one-call', { cost: ['evalsha', 'eval'], share: ['evalsha', 'eval'] }, settings, { count: third, seconds: settings.seconds }, async (i) => {
    const { user, key } = jobs[third + i] as (typeof jobs)[number]
    filled[third + i] = true
    const read = await store.read(key, user.tags, { lock: { key, ttlMs: 5000 } })
    const acquired = read.acquired
    if (read.entry !== null || acquired === undefined) throw new Error('the one-call MISS read found an entry')
    const now = Date.now()
    const value = encodeCachedResponse({
      status: 200, headers: [['content-type', 'application/json'], ['content-encoding', 'gzip']], body, storedAt: now, expiresAt: now + ENTRY_TTL_MS,
      stamps: acquired.stamps.join(' '), etag: '"capacity"', storedEncoding: 'gzip',
    })
    return store.writeIfUnchanged({ key, tags: user.tags, stamps: acquired.stamps, value, ttlMs: ENTRY_TTL_MS, endsFillOf: acquired.locked ? key : undefined })
  })
  // The rest of the entries through the background-refresh path (acquireStamps +
  // writeIfUnchanged: no read, no lock, no PUBLISH), so that every run has the same keyspace.
  // Timed too: it is the scripts' cost alone, at whatever rate the client reaches.
  const rest = jobs.filter((_, i) => !filled[i])
  ctx.say(`  ${kind}: FILL of the other ${rest.length} entries`)
  const fill = await measurePhase(target, 'fill', { cost: ['evalsha', 'eval'], share: ['evalsha', 'eval'] }, settings, { count: rest.length }, async (i) => {
    const { user, key } = rest[i] as (typeof jobs)[number]
    const stamps = await store.acquireStamps(user.tags)
    const now = Date.now()
    const value = encodeCachedResponse({
      status: 200, headers: [['content-type', 'application/json'], ['content-encoding', 'gzip']], body, storedAt: now, expiresAt: now + ENTRY_TTL_MS,
      stamps: stamps.join(' '), etag: '"capacity"', storedEncoding: 'gzip',
    })
    return store.writeIfUnchanged({ key, tags: user.tags, stamps, value, ttlMs: ENTRY_TTL_MS })
  })

  const growth = await measureGrowth(target, settings, users, memoryBefore, miss.effective + missOneCall.effective + fill.effective, valueBytes)

  ctx.say(`  ${kind}: HIT reads for ${settings.seconds}s`)
  const hit = await measurePhase(target, 'hit', { cost: ['mget'], share: ['mget'] }, settings, { seconds: settings.seconds }, async () => {
    const user = users[Math.floor(Math.random() * users.length)] as User
    const read = await store.read(user.keys[Math.floor(Math.random() * user.keys.length)] as string, user.tags)
    return read.entry !== null && read.stamps.every((s) => s !== null)
  })

  ctx.say(`  ${kind}: INVALIDATE one user tag for ${settings.seconds}s`)
  const order = shuffle(users.map((_, i) => i))
  const invalidate = await measurePhase(target, 'invalidate', { cost: ['del', 'publish'], share: ['del'] }, settings, { seconds: settings.seconds }, async (i) => {
    const user = users[order[i % order.length] as number] as User
    return (await store.invalidateTags([`tickets:${user.tenant}:${user.user}`])) === 1
  })
  return { store: kind, nodes: target.nodes.length, phases: [miss, missOneCall, fill, hit, invalidate], growth }
}

async function measureGrowth(target: Target, settings: CapacitySettings, users: readonly User[], memoryBefore: number, entries: number, valueBytes: number): Promise<GrowthResult> {
  const memoryAfter = await usedMemory(target.nodes)
  const keysByNode: Record<string, number> = {}
  let entryKeys = 0
  let stampKeys = 0
  let lockKeys = 0
  for (const node of target.nodes) {
    const [e, s, l] = [await countMatching(node.client, target.pattern('e')), await countMatching(node.client, target.pattern('s')), await countMatching(node.client, target.pattern('l'))]
    entryKeys += e
    stampKeys += s
    lockKeys += l
    keysByNode[node.id] = e + s + l
  }
  // Per user one stamp; per tenant tickets:<t>:*, tickets:<t> and @route:tickets:<t>; the tags
  // that name no tenant (tickets:*, @route:tickets:*, @route:*, *) once on one Redis, once per
  // tenant on a cluster (cluster-layout.ts).
  const tenantless = (users[0]?.tags ?? []).filter((tag) => tagTenant(tag) === undefined).length
  const perTenant = (users[0]?.tags.length ?? 0) - 1 - tenantless
  const clustered = target.nodes.length > 1
  const stampKeysPredicted = users.length + settings.tenants * perTenant + (clustered ? settings.tenants * tenantless : tenantless)
  return {
    entries, tenants: settings.tenants, users: users.length, entryKeys, stampKeys, lockKeys, stampKeysPredicted,
    entryValueBytes: valueBytes,
    memoryUsagePerEntryKey: await sampleUsage(target, 'e'),
    memoryUsagePerUserStampKey: await sampleUsage(target, 's', (key) => /s:tickets:[^:]+:[^*:]+$/.test(key)),
    usedMemoryPerEntry: round((memoryAfter - memoryBefore) / Math.max(1, entries), 0),
    usedMemoryGrowthMiB: round((memoryAfter - memoryBefore) / 2 ** 20, 1),
    keysByNode,
  }
}

/** Whichever comes first. */
interface PhaseLimit { readonly count?: number; readonly seconds?: number }

/**
 * `commands.cost`: the commands whose INFO commandstats usec is the op's command time;
 * `commands.share`: the ones counted per node for the per-master share (PUBLISH is left out:
 * the cluster store sends every PUBLISH to one master, which relays it to all).
 */
async function measurePhase(target: Target, op: PhaseResult['op'], commands: { readonly cost: readonly string[]; readonly share: readonly string[] }, settings: CapacitySettings, limit: PhaseLimit,
  run: (i: number) => Promise<boolean>): Promise<PhaseResult> {
  const idle = await idleRates(target.nodes)
  const before = await Promise.all(target.nodes.map((n) => readNode(n.client)))
  const clientBefore = process.cpuUsage()
  const t0 = performance.now()
  const deadline = limit.seconds === undefined ? Infinity : t0 + limit.seconds * 1000
  const total = limit.count ?? Infinity
  const latencies: number[] = []
  let next = 0
  let errors = 0
  let effective = 0
  let firstError: unknown
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() < deadline) {
      const i = next++
      const start = performance.now()
      try {
        if (await run(i)) effective++
        latencies.push(performance.now() - start)
      } catch (err) {
        errors++
        firstError ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: settings.concurrency }, worker))
  const elapsedMs = performance.now() - t0
  const client = process.cpuUsage(clientBefore)
  const after = await Promise.all(target.nodes.map((n) => readNode(n.client)))
  if (errors > latencies.length / 100) throw new Error(`${op}: ${errors} of ${errors + latencies.length} ops failed: ${String(firstError)}`)

  const ops = latencies.length
  const requestCalls = target.nodes.map((_, j) => sumCalls(after[j] as NodeSample, before[j] as NodeSample, commands.share))
  const allRequestCalls = requestCalls.reduce((a, b) => a + b, 0)
  let cpuMs = 0
  let commandUs = 0
  const byNode = target.nodes.map((node, j): NodeCpu => {
    const [b, a] = [before[j] as NodeSample, after[j] as NodeSample]
    const idleRate = idle.get(node.id) ?? 0
    const nodeCpuMs = Math.max(0, (a.cpuSec - b.cpuSec) * 1000 - idleRate * (elapsedMs / 1000))
    cpuMs += nodeCpuMs
    const calls: Record<string, number> = {}
    for (const [name, stat] of a.commands) {
      const delta = stat.calls - (b.commands.get(name)?.calls ?? 0)
      if (delta > 0) calls[name] = delta
      if (commands.cost.includes(name)) commandUs += stat.usec - (b.commands.get(name)?.usec ?? 0)
    }
    return { node: node.id, cpuMs: round(nodeCpuMs, 1), idleCpuMsPerSec: round(idleRate, 2), calls, shareOfCommands: round((requestCalls[j] ?? 0) / Math.max(1, allRequestCalls), 3) }
  })
  const usPerOp = (cpuMs * 1000) / Math.max(1, ops)
  return {
    op, ops, errors, seconds: round(elapsedMs / 1000, 2), opsPerSec: round((ops / elapsedMs) * 1000, 0), latencyMs: summarize(latencies),
    redisCpuUsPerOp: round(usPerOp, 2), impliedOpsPerRedisCore: usPerOp > 0 ? round(1e6 / usPerOp, 0) : 0,
    commandUsPerOp: round(commandUs / Math.max(1, ops), 2),
    clientCpuUsPerOp: round((client.user + client.system) / Math.max(1, ops), 1),
    byNode, effective,
  }
}

interface NodeSample { readonly cpuSec: number; readonly commands: Map<string, { calls: number; usec: number }> }

async function readNode(client: Redis): Promise<NodeSample> {
  const text = await client.info('all')
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN)
  const commands = new Map<string, { calls: number; usec: number }>()
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    commands.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) })
  }
  return { cpuSec: field('used_cpu_user') + field('used_cpu_sys'), commands }
}

/** Each node's CPU rate while this scenario sends it nothing (ms of CPU per s). */
async function idleRates(nodes: readonly TargetNode[]): Promise<Map<string, number>> {
  const before = await Promise.all(nodes.map((n) => readNode(n.client)))
  const t0 = performance.now()
  await sleep(IDLE_MS)
  const after = await Promise.all(nodes.map((n) => readNode(n.client)))
  const seconds = (performance.now() - t0) / 1000
  return new Map(nodes.map((n, j) => [n.id, (((after[j] as NodeSample).cpuSec - (before[j] as NodeSample).cpuSec) * 1000) / seconds]))
}

function sumCalls(after: NodeSample, before: NodeSample, names: readonly string[]): number {
  return names.reduce((sum, name) => sum + (after.commands.get(name)?.calls ?? 0) - (before.commands.get(name)?.calls ?? 0), 0)
}

async function usedMemory(nodes: readonly TargetNode[]): Promise<number> {
  let total = 0
  for (const node of nodes) total += await readUsedMemory(node.client)
  return total
}

/** MEMORY USAGE (SAMPLES 0) averaged over up to MEMORY_SAMPLES keys of one kind, from every node. */
async function sampleUsage(target: Target, kind: 'e' | 's', keep: (key: string) => boolean = () => true): Promise<number> {
  let total = 0
  let sampled = 0
  for (const node of target.nodes) {
    let cursor = '0'
    const wanted = Math.ceil(MEMORY_SAMPLES / target.nodes.length)
    let taken = 0
    do {
      const [next, keys] = await node.client.scan(cursor, 'MATCH', target.pattern(kind), 'COUNT', 1000)
      cursor = next
      for (const key of keys) {
        if (taken >= wanted || !keep(key)) continue
        total += Number(await node.client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
        taken++
      }
    } while (cursor !== '0' && taken < wanted)
    sampled += taken
  }
  return sampled === 0 ? NaN : round(total / sampled, 0)
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}
