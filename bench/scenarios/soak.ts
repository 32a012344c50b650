import { readdirSync } from 'node:fs'
import type { BenchContext } from '../lib/context.js'
import { sumMetric } from '../lib/metrics-text.js'
import { readRssBytes } from '../lib/processes.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { countByPrefix } from '../lib/redis-prefix.js'
import { round } from '../lib/stats.js'
import { measureMix, type MixResult } from './realistic-mix.js'

/**
 * The long run (issue 6): the realistic mix for BENCH_SOAK_SECONDS (600) through one proxy
 * process, sampled every 30 s: RSS, event-loop delay p99, open file descriptors, the proxy's
 * Redis keys and Redis used_memory. Flat lines are the pass condition, judged by the reader
 * from the table (first vs last samples), not asserted.
 */
export interface SoakSample {
  readonly atSec: number
  readonly rssMiB: number | null
  readonly eventLoopP99Ms: number | null
  readonly openFds: number | null
  readonly redisKeys: number
  readonly redisUsedMiB: number
}

export interface SoakResult {
  readonly seconds: number
  readonly samples: readonly SoakSample[]
  readonly mix: Pick<MixResult, 'reads' | 'readErrors' | 'upstreamOffload' | 'byRoute' | 'writes' | 'staleReads'>
}

const SAMPLE_EVERY_MS = 30_000

export async function runSoak(ctx: BenchContext): Promise<SoakResult> {
  const proxy = await startBenchProxy(ctx, { label: 'soak', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  const started = Date.now()
  const samples: SoakSample[] = []
  const sampleNow = async () => { samples.push(await sample(ctx, proxy, started)) }
  await sampleNow()
  const timer = setInterval(() => void sampleNow().catch((err: unknown) => ctx.say(`  soak: sample failed: ${String(err)}`)), SAMPLE_EVERY_MS)
  try {
    ctx.say(`  soak: ${ctx.settings.soakSec}s of the realistic mix, sampled every ${SAMPLE_EVERY_MS / 1000}s`)
    const mix = await measureMix({ ...ctx, settings: { ...ctx.settings, mixSec: ctx.settings.soakSec, mixWarmupSec: 10 } }, proxy)
    clearInterval(timer)
    await sampleNow()
    const { reads, readErrors, upstreamOffload, byRoute, writes, staleReads } = mix
    return { seconds: ctx.settings.soakSec, samples, mix: { reads, readErrors, upstreamOffload, byRoute, writes, staleReads } }
  } finally {
    clearInterval(timer)
    await proxy.stop()
  }
}

async function sample(ctx: BenchContext, proxy: BenchProxy, started: number): Promise<SoakSample> {
  const pid = proxy.process.pid
  const metrics = await proxy.metrics()
  const lag = sumMetric(metrics, 'ccp_nodejs_eventloop_lag_p99_seconds')
  const info = await ctx.redis.info('memory')
  const usedBytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)
  const rss = readRssBytes(pid)
  return {
    atSec: Math.round((Date.now() - started) / 1000),
    rssMiB: rss === undefined ? null : round(rss / 2 ** 20, 1),
    eventLoopP99Ms: Number.isFinite(lag) ? round(lag * 1000, 1) : null,
    openFds: countFds(pid),
    redisKeys: await countByPrefix(ctx.redis, proxy.keyPrefix),
    redisUsedMiB: round(usedBytes / 2 ** 20, 1),
  }
}

function countFds(pid: number): number | null {
  try { return readdirSync(`/proc/${pid}/fd`).length } catch { return null }
}

