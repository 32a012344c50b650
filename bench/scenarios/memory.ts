import type { Redis } from 'ioredis'
import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { bodyBytes, captureResponse, writeCapture } from '../lib/capture.js'
import { sendMany } from '../lib/http-load.js'
import { groupMetric } from '../lib/metrics-text.js'
import { readRssBytes } from '../lib/processes.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { countByPrefix, deleteByPrefix, readUsedMemory } from '../lib/redis-prefix.js'
import { startCeiling } from '../lib/servers.js'
import { round } from '../lib/stats.js'
import { waitFor } from '../lib/wait.js'
import { TICKETS_PATH } from './throughput.js'

/**
 * Scenario 5: memory at 100 thousand entries. The proxy (its own process) first stores
 * PROXY_FILL entries through its real miss path: ticket-list requests with distinct URLs,
 * answered by a static origin that replays the example API's ticket-list bytes. Its miss
 * path is too slow to write 100k within the time budget, so the rest are copies of those
 * real entries (same bytes, new keys, pipelined). Reported: the proxy's RSS idle and after
 * its fill, Redis used_memory growth per entry at 100k, MEMORY USAGE of sampled entry keys.
 */
const SAMPLE_KEYS = 200
const PROXY_FILL = 10_000
const COPY_TTL_MS = 30 * 60_000

export interface MemoryResult {
  readonly entries: number
  readonly entriesWrittenByProxy: number
  readonly bodyBytes: number
  readonly proxyRssMiB: { readonly idle: number; readonly afterFill: number; readonly peak: number }
  readonly redisBytesPerEntry: number
  readonly memoryUsagePerEntryKey: number
  readonly stampKeys: number
  readonly fillRatePerSec: number
  readonly fillErrors: number
}

export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const auth = `Bearer ${ctx.tokens.forUser(1, 1)}`
  const capture = await captureResponse(ctx.upstreamUrl, TICKETS_PATH, { authorization: auth })
  const origin = await startCeiling(ctx, { responseFile: writeCapture(join(ctx.tmpDir, 'origin-response.json'), capture), anyQuery: true, label: 'static-origin' })
  const proxy = await startBenchProxy(ctx, { label: 'mem', upstreamUrl: origin.url, routes: 'contract' })
  try {
    return await measureFill(ctx, proxy, auth, bodyBytes(capture))
  } finally {
    await proxy.stop()
    await origin.process.stop()
    await deleteByPrefix(ctx.redis, proxy.keyPrefix)
  }
}

async function measureFill(ctx: BenchContext, proxy: BenchProxy, auth: string, body: number): Promise<MemoryResult> {
  const count = Math.min(PROXY_FILL, ctx.settings.memoryEntries)
  const idleRss = readRssBytes(proxy.process.pid) ?? NaN
  const usedBefore = await readUsedMemory(ctx.redis)
  ctx.say(`  storing ${count} entries through the proxy`)
  const load = await sendMany({
    baseUrl: proxy.url, count, concurrency: 32,
    makeRequest: (i) => ({ path: `${TICKETS_PATH}&_bench=mem-${i}`, headers: { authorization: auth } }),
  })
  const written = await waitForStores(proxy, count)
  const entries = written + await copyEntries(ctx.redis, `${proxy.keyPrefix}e:`, ctx.settings.memoryEntries - written)
  const usedAfter = await readUsedMemory(ctx.redis)
  const mib = (bytes: number): number => round(bytes / 2 ** 20, 1)
  return {
    entries, entriesWrittenByProxy: written, bodyBytes: body,
    proxyRssMiB: { idle: mib(idleRss), afterFill: mib(readRssBytes(proxy.process.pid) ?? NaN), peak: mib(readRssBytes(proxy.process.pid, 'VmHWM') ?? NaN) },
    redisBytesPerEntry: round((usedAfter - usedBefore) / entries, 0),
    memoryUsagePerEntryKey: await sampleMemoryUsage(ctx.redis, `${proxy.keyPrefix}e:`),
    stampKeys: await countByPrefix(ctx.redis, `${proxy.keyPrefix}s:`),
    fillRatePerSec: round((count / load.elapsedMs) * 1000, 0),
    fillErrors: load.errors,
  }
}

/** Entries are written after the response is sent: wait until the proxy has counted them all. */
async function waitForStores(proxy: BenchProxy, count: number): Promise<number> {
  let last = -1
  return waitFor('the proxy to finish storing', async () => {
    const stored = groupMetric(await proxy.metrics(), 'ccp_entries_stored_total', 'outcome', { route: 'tickets' })['stored'] ?? 0
    const settled = stored === last
    last = stored
    return stored >= count || (settled && stored > 0) ? stored : undefined
  }, 60_000, 500)
}

/** Tops the store up with copies of the proxy's own entries (same value bytes, keys of the same length). */
async function copyEntries(redis: Redis, entryPrefix: string, copies: number): Promise<number> {
  if (copies <= 0) return 0
  const [, keys] = await redis.scan('0', 'MATCH', `${entryPrefix}*`, 'COUNT', 1000)
  const sources = await Promise.all(keys.slice(0, 100).map((key) => redis.getBuffer(key)))
  const values = sources.filter((v): v is Buffer => v !== null)
  const keyLength = keys[0]?.length ?? 64
  for (let start = 0; start < copies; start += 5000) {
    const pipeline = redis.pipeline()
    for (let i = start; i < Math.min(copies, start + 5000); i++) {
      pipeline.set(`${entryPrefix}${`copy-${i}`.padEnd(keyLength - entryPrefix.length, '-')}`, values[i % values.length] as Buffer, 'PX', COPY_TTL_MS)
    }
    await pipeline.exec()
  }
  return copies
}

/** MEMORY USAGE (with all nested values sampled) of the first entry keys a SCAN returns. */
async function sampleMemoryUsage(redis: Redis, entryPrefix: string): Promise<number> {
  const [, keys] = await redis.scan('0', 'MATCH', `${entryPrefix}*`, 'COUNT', SAMPLE_KEYS * 5)
  const sample = keys.slice(0, SAMPLE_KEYS)
  let total = 0
  for (const key of sample) total += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
  return sample.length === 0 ? NaN : round(total / sample.length, 0)
}
