import type { Redis } from 'ioredis'
import pino from 'pino'
import { encodeCachedResponse } from '../../src/request/cached-response.js'
import { evaluateLookup } from '../../src/request/lookup.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import type { CacheStore } from '../../src/store/store.js'
import type { BenchContext } from '../lib/context.js'
import { deleteByPrefix } from '../lib/redis-prefix.js'
import { ratio, round, summarize, type LatencySummary } from '../lib/stats.js'
import { waitFor } from '../lib/wait.js'

/**
 * Scenario 3: invalidating one tenant tag while N entries carry it, for N = 10 thousand and
 * 1 million. Entries are written straight into Redis (pipelined SETs) in the store's own
 * format and key layout, each tagged `tickets:<tenant>:<user>` and `tickets:<tenant>` with
 * the stamps the store handed out. Then `store.invalidateTags(['tickets:<tenant>'])` is timed
 * repeatedly (the stamp is re-created between rounds), and a sample of entries is read back
 * through the store and the lookup policy to check that they really became misses.
 */
const TENANT = 7
const USERS = 1000
const ROUNDS = 200
const WARMUP_ROUNDS = 50 // untimed: the first point must not pay for JIT and connection warm-up
const FILL_BATCH = 5000
const ENTRY_TTL_MS = 30 * 60_000 // a safety net: the keys expire even if cleanup never runs

export interface ScalingPoint {
  readonly entries: number
  readonly invalidateMs: LatencySummary
  readonly sampledEntriesInvalidated: string
}

export interface ScalingResult {
  readonly points: ScalingPoint[]
  /** p50 at the largest size over p50 at the smallest. */
  readonly ratioP50: number | null
  readonly ratioMean: number | null
  readonly fillRatePerSec: number
}

export async function runInvalidationScaling(ctx: BenchContext): Promise<ScalingResult> {
  const keyPrefix = `${ctx.prefix}scale:`
  const store = makeRedisStore({ url: ctx.settings.redisUrl, keyPrefix, timeoutMs: 5000, stampTtlMs: ENTRY_TTL_MS, log: pino({ level: 'warn' }) })
  try {
    await waitFor('the Redis store to connect', async () => { await store.ping(); return true })
    const { values, tenantStamp } = await makeEntryValues(store)
    // Every point starts with the entries valid: the tenant stamp they were written with.
    const restoreStamp = async (): Promise<void> => { await ctx.redis.set(`${keyPrefix}s:${tenantTag}`, tenantStamp, 'PX', ENTRY_TTL_MS) }
    const points: ScalingPoint[] = []
    let filled = 0
    let fillMs = 0
    for (const size of [...ctx.settings.scaleSizes].sort((a, b) => a - b)) {
      ctx.say(`  filling to ${size} entries`)
      const t0 = performance.now()
      await fill(ctx.redis, `${keyPrefix}e:`, filled, size, values)
      fillMs += performance.now() - t0
      filled = size
      points.push(await measurePoint(store, size, restoreStamp))
    }
    const [small, large] = [points[0], points[points.length - 1]]
    return {
      points, ratioP50: ratio(large?.invalidateMs.p50, small?.invalidateMs.p50), ratioMean: ratio(large?.invalidateMs.mean, small?.invalidateMs.mean),
      fillRatePerSec: round((filled / fillMs) * 1000, 0),
    }
  } finally {
    await store.close()
    ctx.say(`  deleted ${await deleteByPrefix(ctx.redis, keyPrefix)} keys of the scaling scenario`)
  }
}

const tenantTag = `tickets:${TENANT}`
const userTag = (user: number): string => `tickets:${TENANT}:${user}`

/** One encoded entry per user, carrying that user's stamps (the body is a small ticket-list stand-in). */
async function makeEntryValues(store: CacheStore): Promise<{ values: Buffer[]; tenantStamp: string }> {
  const values: Buffer[] = []
  let tenantStamp = ''
  const body = Buffer.from(JSON.stringify({ success: true, data: { results: [], count: 0, page: 1, page_size: 20 } }))
  for (let user = 0; user < USERS; user++) {
    const tags = [userTag(user), tenantTag]
    const stamps = await store.acquireStamps(tags)
    tenantStamp = stamps[1] ?? ''
    const now = Date.now()
    values.push(encodeCachedResponse({ status: 200, headers: [['content-type', 'application/json']], body, storedAt: now, expiresAt: now + ENTRY_TTL_MS, stamps: stamps.join(' '), etag: '"bench"', storedEncoding: 'identity' }))
  }
  return { values, tenantStamp }
}

/** Entry i belongs to user i % USERS; its key is the store's entry key for `k<i>`. */
async function fill(redis: Redis, entryPrefix: string, from: number, to: number, values: readonly Buffer[]): Promise<void> {
  for (let start = from; start < to; start += FILL_BATCH) {
    const pipeline = redis.pipeline()
    for (let i = start; i < Math.min(to, start + FILL_BATCH); i++) pipeline.set(`${entryPrefix}k${i}`, values[i % USERS] as Buffer, 'PX', ENTRY_TTL_MS)
    await pipeline.exec()
  }
}

async function measurePoint(store: CacheStore, entries: number, restoreStamp: () => Promise<void>): Promise<ScalingPoint> {
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    await store.acquireStamps([tenantTag])
    await store.invalidateTags([tenantTag])
  }
  await restoreStamp()
  const times: number[] = []
  let invalidatedSample = ''
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) await store.acquireStamps([tenantTag]) // re-creates the stamp the previous round deleted
    if (round === 0) await expectSample(store, entries, 'hit')
    const t0 = performance.now()
    await store.invalidateTags([tenantTag])
    times.push(performance.now() - t0)
    if (round === 0) invalidatedSample = await expectSample(store, entries, 'miss')
  }
  return { entries, invalidateMs: summarize(times), sampledEntriesInvalidated: invalidatedSample }
}

/** Reads 100 entries spread over the keyspace through the store and the lookup policy. */
async function expectSample(store: CacheStore, entries: number, expected: 'hit' | 'miss'): Promise<string> {
  let matching = 0
  const sample = 100
  for (let j = 0; j < sample; j++) {
    const i = Math.floor((j * entries) / sample)
    const read = await store.read(`k${i}`, [userTag(i % USERS), tenantTag])
    const verdict = evaluateLookup(read, Date.now(), { freshnessBoundMs: undefined })
    if (verdict.kind === expected) matching++
  }
  if (matching !== sample) throw new Error(`expected ${sample} ${expected}s among sampled entries, got ${matching}`)
  return `${matching}/${sample}`
}
