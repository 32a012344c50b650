import { Cluster, type ClusterOptions, type Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { CacheStore, InvalidationEvent, StoreRead, StoreWrite } from './store.js'
import { ACQUIRE_STAMPS, ADVANCE_NODE_WATERMARK, END_FILL, READ_OR_ACQUIRE, WRITE_IF_UNCHANGED } from './redis-scripts.js'
import { makeRedisChannels } from './redis-channels.js'
import { makeInvalidationFeed } from './invalidation-feed.js'
import { keySlot, keyTenant, makeClusterLayout, tagTenant, tenantOfTags } from './cluster-layout.js'
import { makeStamp } from './stamp.js'
import { escapeGlob } from './glob.js'
import { logErrorsThrottled, makeGuard, parseReadOrAcquire, readOrAcquireArgs, readRunId, watermarkOfRun, writeIfUnchangedArgs } from './redis-support.js'

const SLOTS_REFRESH_MS = 5000
/** How long a node connection may take to open (and a slots refresh to answer). */
const connectTimeoutMs = (options: { readonly timeoutMs: number }): number => Math.max(1000, options.timeoutMs * 10)
/** How long a master that has not answered yet is given to connect before its failed checks count. */
const STARTUP_GRACE_MS = 3000
const SLOT_COUNT = 16384

export interface RedisClusterStoreOptions {
  /** Seed nodes; the client discovers the rest. */
  readonly urls: readonly string[]
  readonly keyPrefix: string
  readonly timeoutMs: number
  readonly stampTtlMs: number
  readonly log: Logger
  /** How often every master's watermark is re-read (the freshness check reads the copy in memory). */
  readonly watermarkPollMs?: number
}

interface ScriptedCluster extends Cluster {
  readOrAcquireBuffer(...args: (string | number)[]): Promise<(Buffer | null)[]>
  acquireStamps(...args: (string | number)[]): Promise<string[]>
  writeIfUnchanged(...args: (string | number | Buffer)[]): Promise<number>
  advanceNodeWatermark(key: string, ms: number, runId: string): Promise<number>
  endFill(key: string, token: string, channel: string, message: string): Promise<number>
}

interface Master {
  /** `host:port`, as ioredis names nodes. */
  readonly id: string
  /** Undefined while the client has no connection to it (it is down or not yet discovered). */
  readonly client: Redis | undefined
  /** The slots it serves, and the first of them (where its node keys are placed). */
  readonly slots: ReadonlySet<number>
  readonly firstSlot: number
}

/**
 * The store on a Redis Cluster (layout: cluster-layout.ts). What differs from one Redis:
 *
 * **Freshness per master.** Every master holds the watermark of the slots it serves, written
 * by the replication leader after each heartbeat and read by every replica in the background
 * (the request path compares against the copy in memory). A dead master therefore stalls only
 * its own tenants; every other tenant keeps hitting.
 *
 * **Invalidations that cannot reach a slot: the tenants are treated as invalid.** When a
 * stamp deletion fails (its master is down or failing over), the slot is recorded as
 * condemned, in memory and on every reachable master, and the invalidation counts as applied
 * (the replication stream moves on, so one dead master does not hold back every tenant's
 * invalidations). A condemned slot's master gets no new watermark until the slot's entries are
 * flushed (its tenants' `*` stamps deleted); until then its tenants' watermark ages past the
 * freshness bound and they are served from the upstream. If no master can record the
 * condemnation the invalidation fails and is retried (nothing acknowledged, nothing lost).
 *
 * **A master that lost data.** The watermark is `ms:run_id`; a master that comes back with
 * another run_id (restarted from a snapshot, or a promoted replica that missed writes) has its
 * slots flushed before it gets a new watermark, as with one Redis.
 */
export function makeRedisClusterStore(options: RedisClusterStoreOptions): CacheStore {
  const cluster = makeCluster(options)
  const layout = makeClusterLayout(options.keyPrefix)
  /** Consecutive failed background checks per master: one alone may be a connection still opening. */
  const failedChecks = new Map<string, number>()
  /** A master whose last two checks failed (see assertUp). */
  const isDown = (id: string) => (failedChecks.get(id) ?? 0) >= 2
  /**
   * Masters that answered a check at least once. Before that, a failed check may be the
   * connection still opening (seen under load with checks 50 ms apart): it counts only once the
   * start-up grace has passed, so a master that is really down at start is failed fast after it.
   */
  const answered = new Set<string>()
  const startedAt = Date.now()
  const { stampTtlMs, log } = options
  const lockToken = makeStamp()
  const channels = makeRedisChannels({
    // Any node relays a PUBLISH to the whole cluster: use the first master that answers.
    publish: async (channel, message) => {
      let lastError: unknown = new Error('no master to publish on')
      for (const master of masters().filter((m) => m.client && !isDown(m.id))) {
        try { return await connected(master).publish(channel, message) } catch (err) { lastError = err }
      }
      throw lastError
    },
    openSubscriber: () => cluster.duplicate(undefined, { enableOfflineQueue: true, enableAutoPipelining: false }),
  }, log)
  const fillChannel = `${options.keyPrefix}fill`
  /** Master id -> its watermark (null: unknown, or written to another run of that master). */
  const watermarks = new Map<string, number | null>()
  /** Slots whose invalidations could not be applied (also kept on every reachable master). */
  const condemned = new Set<string>()

  const feed = makeInvalidationFeed(channels, `${options.keyPrefix}invalidation`)
  const publishInvalidation = (event: InvalidationEvent) => feed.publish(event)

  logErrorsThrottled(cluster, log, 'redis cluster error')

  /** The slot map by master, rebuilt only when the client's map changed (a cheap scan tells). */
  let owners: (string | undefined)[] = []
  let layoutByMaster = new Map<string, { slots: Set<number>; firstSlot: number }>()
  function slotsByMaster() {
    const bySlot = cluster.slots
    let changed = owners.length !== SLOT_COUNT
    for (let slot = 0; !changed && slot < SLOT_COUNT; slot++) changed = bySlot[slot]?.[0] !== owners[slot]
    if (changed) {
      owners = Array.from({ length: SLOT_COUNT }, (_, slot) => bySlot[slot]?.[0])
      layoutByMaster = new Map()
      owners.forEach((id, slot) => {
        if (id === undefined) return
        const entry = layoutByMaster.get(id) ?? { slots: new Set<number>(), firstSlot: slot }
        entry.slots.add(slot)
        layoutByMaster.set(id, entry)
      })
    }
    return layoutByMaster
  }

  function masters(): Master[] {
    const clients = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]))
    return [...slotsByMaster()].map(([id, { slots, firstSlot }]) => ({ id, client: clients.get(id), slots, firstSlot }))
  }

  function connected(master: Master): Redis {
    if (!master.client) throw new Error(`no connection to master ${master.id}`)
    return master.client
  }

  /**
   * The master serving a tenant, if it is up. Requests for the slots of a master whose last
   * two background checks failed fail at once (and are served from the upstream with BYPASS)
   * instead of waiting out the client's reconnects and redirections; every other slot keeps
   * hitting.
   */
  function assertUp(tenant: string): string {
    const owner = ownerOf(layout.tenantSlot(tenant))
    if (owner === undefined) throw new Error('no master serves this slot')
    if (isDown(owner)) throw new Error(`master ${owner} is down`)
    return owner
  }

  const ownerOf = (slot: number): string | undefined => cluster.slots[slot]?.[0]

  /** One master's watermark as readers must see it: only if written to this very run of it. */
  async function readNodeWatermark(master: Master): Promise<number | null> {
    const [runId, value] = await Promise.all([readRunId(connected(master)), cluster.get(layout.watermarkKey(master.firstSlot))])
    return watermarkOfRun(value, runId)
  }

  async function pollWatermarks(): Promise<void> {
    await Promise.all(masters().map(async (master) => {
      try {
        watermarks.set(master.id, await readNodeWatermark(master))
        failedChecks.delete(master.id)
        answered.add(master.id)
      } catch {
        // Unreachable: keep the last value (it ages past the bound on its own), and fail its requests fast.
        if (answered.has(master.id) || Date.now() - startedAt >= STARTUP_GRACE_MS) failedChecks.set(master.id, (failedChecks.get(master.id) ?? 0) + 1)
      }
    }))
  }
  const poller = setInterval(() => { void pollWatermarks() }, options.watermarkPollMs ?? 200)
  poller.unref()
  // A promoted replica is found through MOVED replies as well; this catches quiet slots.
  const slotRefresher = setInterval(() => { cluster.refreshSlotsCache() }, SLOTS_REFRESH_MS)
  slotRefresher.unref()
  /**
   * Node connections open lazily; a burst right after start would meet them half-open (and,
   * without an offline queue, a command for a node still connecting fails at once). Opens the
   * ones not opened yet and waits, for at most the connect timeout, for those still opening.
   */
  const warmUp = () => Promise.allSettled(cluster.nodes('master').map((node) => {
    if (node.status === 'wait') return node.connect()
    if (node.status !== 'connecting' && node.status !== 'connect') return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); node.off('ready', done); resolve() }
      const timer = setTimeout(done, connectTimeoutMs(options))
      node.once('ready', done)
    })
  }))
  cluster.on('ready', () => { void warmUp().then(pollWatermarks) })

  async function acquire(tags: readonly string[], lock?: { key: string; ttlMs: number }) {
    const tenant = lock ? keyTenant(lock.key) : tenantOfTags(tags)
    assertUp(tenant)
    const keys = [...tags.map((tag) => layout.stampKey(tag, tenant)), ...(lock ? [layout.lockKey(lock.key)] : [])]
    const lockArgs = lock ? [lockToken, Math.max(1, Math.ceil(lock.ttlMs))] : []
    const out = await cluster.acquireStamps(keys.length, ...keys, stampTtlMs, tags.length, ...tags.map(() => makeStamp()), ...lockArgs)
    return { stamps: out.slice(0, tags.length), locked: out[tags.length] === '1' }
  }

  /** Deletes every key matching `pattern` on one master (keys of several slots: one UNLINK each). */
  async function scanDelete(client: Redis, pattern: string, keep: (key: string) => boolean = () => true): Promise<number> {
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      const doomed = keys.filter(keep)
      if (doomed.length > 0) {
        const results = await client.pipeline(doomed.map((key) => ['unlink', key])).exec()
        for (const [err, count] of results ?? []) {
          if (err) throw err
          deleted += Number(count)
        }
      }
    } while (cursor !== '0')
    return deleted
  }

  /**
   * Records slots whose invalidations could not be applied. Throws if no master could record
   * it. A record is `<slot>:<nonce>`, and a flush removes exactly the records it read, so one
   * added meanwhile (by a purge in another process) survives until the next flush.
   */
  async function condemn(slots: ReadonlySet<number>): Promise<void> {
    const members = [...slots].map((slot) => `${slot}:${makeStamp()}`)
    for (const member of members) condemned.add(member)
    const recorded = await Promise.allSettled(masters().filter((m) => ![...slots].some((s) => m.slots.has(s)))
      .map((m) => cluster.sadd(layout.condemnedKey(m.firstSlot), ...members)))
    if (!recorded.some((r) => r.status === 'fulfilled')) {
      throw new Error(`could not record ${slots.size} condemned slot(s) on any reachable master`)
    }
    log.warn({ slots: slots.size, code: 'CCP_STORE_UNAVAILABLE' }, 'invalidation could not reach some slots: their tenants bypass the cache until those slots are flushed')
    await publishInvalidation({ kind: 'reset' }).catch(() => undefined)
  }

  async function loadCondemned(all: readonly Master[]): Promise<Set<string>> {
    const out = new Set(condemned)
    await Promise.all(all.map(async (m) => {
      try {
        for (const member of await cluster.smembers(layout.condemnedKey(m.firstSlot))) out.add(member)
      } catch { /* that master is down: the others hold the same records */ }
    }))
    return out
  }

  async function clearCondemned(all: readonly Master[], members: readonly string[]): Promise<void> {
    for (const member of members) condemned.delete(member)
    await Promise.allSettled(all.map((m) => cluster.srem(layout.condemnedKey(m.firstSlot), ...members)))
  }

  const slotOfRecord = (member: string) => Number(member.slice(0, member.indexOf(':')))

  /** Flushes one master: every tenant's `*` stamp there (of the given slots, or all). */
  async function flushMaster(master: Master, slots: ReadonlySet<number> | undefined): Promise<number> {
    return scanDelete(connected(master), layout.everythingPattern(), slots ? (key) => slots.has(keySlot(key)) : undefined)
  }

  async function advanceMaster(master: Master, ms: number, doomed: ReadonlySet<string>, all: readonly Master[]): Promise<boolean> {
    if (isDown(master.id)) throw new Error(`master ${master.id} is down`)
    const runId = await readRunId(connected(master))
    const current = await cluster.get(layout.watermarkKey(master.firstSlot))
    const restarted = current !== null && !current.endsWith(`:${runId}`)
    const mine = [...doomed].filter((member) => master.slots.has(slotOfRecord(member)))
    let flushed = false
    if (restarted || mine.length > 0) {
      const slots = new Set(mine.map(slotOfRecord))
      const count = await flushMaster(master, restarted ? undefined : slots)
      log.warn({ master: master.id, restarted, condemnedSlots: slots.size, stamps: count }, 'flushed a master\'s tenants before giving it a new watermark')
      if (mine.length > 0) await clearCondemned(all, mine)
      flushed = true
    }
    await cluster.advanceNodeWatermark(layout.watermarkKey(master.firstSlot), ms, runId)
    watermarks.set(master.id, Math.max(ms, watermarks.get(master.id) ?? 0))
    return flushed
  }

  const guarded = makeGuard('redis cluster')

  return {
    kind: 'redis-cluster',

    read: (key, tags, acquire) => guarded('read', async (): Promise<StoreRead> => {
      const tenant = keyTenant(key)
      const owner = assertUp(tenant)
      const watermark = watermarks.get(owner) ?? null
      if (acquire !== undefined) {
        const keys = { entry: layout.entryKey(key), stamps: tags.map((tag) => layout.stampKey(tag, tenant)), lock: layout.lockKey(key) }
        return { ...parseReadOrAcquire(await cluster.readOrAcquireBuffer(...readOrAcquireArgs(keys, acquire, stampTtlMs, lockToken)), tags.length), watermark }
      }
      const values = await cluster.mgetBuffer(layout.entryKey(key), ...tags.map((tag) => layout.stampKey(tag, tenant)))
      return { entry: values[0] ?? null, watermark, stamps: values.slice(1).map((v) => (v ? v.toString() : null)) }
    }),

    acquireStamps: (tags) => guarded('acquireStamps', async () => (await acquire(tags)).stamps),

    acquireStampsAndLock: (tags, lock) => guarded('acquireStamps', () => acquire(tags, lock)),

    writeIfUnchanged: (write: StoreWrite) => guarded('write', async () => {
      const tenant = keyTenant(write.key)
      assertUp(tenant)
      // The fill's key is the same request's: the same tenant, so its lock shares the entry's slot.
      const keys = { entry: layout.entryKey(write.key), stamps: write.tags.map((tag) => layout.stampKey(tag, tenant)), fillLock: write.endsFillOf === undefined ? undefined : layout.lockKey(write.endsFillOf) }
      return (await cluster.writeIfUnchanged(...writeIfUnchangedArgs(write, keys, lockToken, fillChannel))) === 1
    }),

    invalidateTags: (tags) => guarded('invalidateTags', async () => {
      if (tags.length === 0) return 0
      const byTenant = new Map<string, string[]>()
      const spanning: string[] = []
      for (const tag of tags) {
        const tenant = tagTenant(tag)
        if (tenant === undefined) spanning.push(tag)
        else byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), layout.stampKey(tag, tenant)])
      }
      const unreached = new Set<number>()
      const counts = await Promise.all([
        ...[...byTenant].map(([tenant, keys]) => Promise.resolve().then(() => { assertUp(tenant); return cluster.del(...keys) }).catch(() => {
          unreached.add(layout.tenantSlot(tenant))
          return 0
        })),
        ...(spanning.length === 0 ? [] : masters().map(async (master) => {
          try {
            let count = 0
            for (const tag of spanning) count += await scanDelete(connected(master), layout.stampPattern(escapeGlob(tag)))
            return count
          } catch {
            for (const slot of master.slots) unreached.add(slot)
            return 0
          }
        })),
      ])
      const deleted = counts.reduce((sum, n) => sum + n, 0)
      if (unreached.size > 0) await condemn(unreached)
      await publishInvalidation({ kind: 'tags', tags })
      return deleted
    }),

    invalidateTagPattern: (glob) => guarded('invalidateTagPattern', async () => {
      const all = masters()
      const results = await Promise.allSettled(all.map(async (m) => scanDelete(connected(m), layout.stampPattern(glob))))
      await publishInvalidation({ kind: 'reset' })
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [all[i]?.id ?? '?'] : []))
      if (failed.length > 0) throw new Error(`masters ${failed.join(', ')} did not answer; purge again once they are back`)
      return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0)
    }),

    writeWatermark: (ms) => guarded('writeWatermark', async () => {
      const all = masters()
      const doomed = await loadCondemned(all)
      const outcomes = await Promise.allSettled(all.map((master) => advanceMaster(master, ms, doomed, all)))
      if (outcomes.some((o) => o.status === 'fulfilled' && o.value)) await publishInvalidation({ kind: 'reset' })
      const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [all[i]?.id] : []))
      // The in-process (L1) copies only need the feed to be complete up to this heartbeat: every
      // invalidation was published as tags, or its slot was condemned and a reset published. A
      // dead master's tenants never reach L1 (their reads fail, then bypass until it is flushed),
      // so the others keep their L1 while one master is down.
      if (failed.length < all.length) await publishInvalidation({ kind: 'watermark', ms })
      if (failed.length > 0) throw new Error(`no new watermark for ${failed.join(', ')} (unreachable): their tenants bypass once it is older than the bound`)
    }),

    readWatermark: () => guarded('readWatermark', async () => {
      await pollWatermarks()
      const all = masters()
      if (all.length === 0) return null
      let oldest = Infinity
      for (const master of all) {
        const value = watermarks.get(master.id)
        if (value === null || value === undefined) return null
        oldest = Math.min(oldest, value)
      }
      return oldest
    }),

    tryLock: (key, ttlMs) => guarded('tryLock', async () =>
      (await cluster.set(layout.lockKey(key), lockToken, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'),

    endFill: (key) => guarded('endFill', async () => { await cluster.endFill(layout.lockKey(key), lockToken, fillChannel, key) }),

    onFill: (listener) => channels.subscribe(fillChannel, listener),

    onInvalidation: (listener) => feed.subscribe(listener),

    deleteEntry: (key) => guarded('deleteEntry', async () => { await cluster.del(layout.entryKey(key)) }),

    describe: async () => {
      const all = masters()
      const records = await loadCondemned(all)
      return {
        kind: 'redis-cluster',
        masters: all.map((m) => ({ id: m.id, slots: m.slots.size, up: m.client !== undefined && !isDown(m.id), watermark: watermarks.get(m.id) ?? null })),
        condemnedSlots: [...new Set([...records].map(slotOfRecord))].sort((a, b) => a - b),
      }
    },

    ping: () => guarded('ping', async () => {
      if (cluster.status !== 'ready') throw new Error(`cluster client is ${cluster.status}`)
      await warmUp()
      await cluster.ping()
    }),

    close: async () => {
      clearInterval(poller)
      clearInterval(slotRefresher)
      channels.close()
      cluster.disconnect()
    },
  }
}

/** Fail fast, as with one Redis: no offline queue, no per-command retries, short timeouts. */
function makeCluster(options: RedisClusterStoreOptions): ScriptedCluster {
  const seeds = options.urls.map((text) => new URL(text))
  const first = seeds[0] as URL
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // Scripts with a variable key count start with the count: auto-pipelining would route them
    // by that number instead of their first key (ioredis autoPipelining.js), so they go alone.
    autoPipeliningIgnoredCommands: ['readOrAcquire', 'readOrAcquireBuffer', 'acquireStamps', 'writeIfUnchanged'],
    enableReadyCheck: true,
    // No waiting inside the client: a command for a slot whose master is gone fails at once
    // (with delays, auto-pipelined commands were seen to take over a second, past commandTimeout).
    retryDelayOnClusterDown: 0,
    retryDelayOnFailover: 0,
    retryDelayOnTryAgain: 0,
    maxRedirections: 16,
    slotsRefreshTimeout: connectTimeoutMs(options),
    // Not slotsRefreshInterval: a refresh in flight at disconnect() re-arms that timer forever
    // (ioredis 5.11), so the store refreshes on a timer of its own.
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    redisOptions: {
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: connectTimeoutMs(options),
    },
  }
  const cluster = new Cluster(seeds.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) })), clusterOptions)
  cluster.defineCommand('readOrAcquire', { lua: READ_OR_ACQUIRE })
  cluster.defineCommand('acquireStamps', { lua: ACQUIRE_STAMPS })
  cluster.defineCommand('writeIfUnchanged', { lua: WRITE_IF_UNCHANGED })
  cluster.defineCommand('advanceNodeWatermark', { numberOfKeys: 1, lua: ADVANCE_NODE_WATERMARK })
  cluster.defineCommand('endFill', { numberOfKeys: 1, lua: END_FILL })
  return cluster as ScriptedCluster
}
