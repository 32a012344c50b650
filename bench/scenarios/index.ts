import type { BenchContext } from '../lib/context.js'
import type { ScenarioName } from '../lib/settings.js'
import { runProfiles, type ProfilesResult } from './profiles.js'
import { runMissLatency, type MissLatencyResult } from './miss-latency.js'
import { runInvalidationLatency, type LatencyAtRate } from './invalidation-latency.js'
import { runInvalidationScaling, type ScalingResult } from './invalidation-scaling.js'
import { runMemory, type MemoryResult } from './memory.js'
import { runRealisticMix, type MixResult } from './realistic-mix.js'
import { runThroughput, type ThroughputResult } from './throughput.js'
import { runSoak, type SoakResult } from './soak.js'
import { runCapacity, type CapacityResult } from './capacity.js'

export interface Failed { readonly error: string }

export interface BenchResults {
  throughput?: ThroughputResult | Failed
  miss?: MissLatencyResult | Failed
  mix?: MixResult | Failed
  latency?: { rates: LatencyAtRate[] } | Failed
  scaling?: ScalingResult | Failed
  memory?: MemoryResult | Failed
  profile?: ProfilesResult | Failed
  soak?: SoakResult | Failed
  capacity?: CapacityResult | Failed
}

export function succeeded<T extends object>(result: T | Failed | undefined): T | undefined {
  return result === undefined || 'error' in result ? undefined : result
}

type Runner = (ctx: BenchContext, stem: string) => Promise<unknown>

/**
 * In run order. The mix runs before the latency probes add their tickets; the scaling and
 * memory fills come last, since they make Redis big. A scenario that fails is recorded as
 * failed and the run goes on.
 */
const RUNNERS: readonly (readonly [ScenarioName, Runner])[] = [
  ['throughput', (ctx) => runThroughput(ctx)],
  ['miss', (ctx) => runMissLatency(ctx)],
  ['profile', (ctx, stem) => runProfiles(ctx, stem)],
  ['mix', (ctx) => runRealisticMix(ctx)],
  ['latency', (ctx) => runInvalidationLatency(ctx)],
  ['scaling', (ctx) => runInvalidationScaling(ctx)],
  ['memory', (ctx) => runMemory(ctx)],
  ['capacity', (ctx) => runCapacity(ctx)],
  ['soak', (ctx) => runSoak(ctx)],
]

export async function runScenarios(ctx: BenchContext, stem: string): Promise<BenchResults> {
  const results: Record<string, unknown> = {}
  for (const [name, run] of RUNNERS) {
    if (!ctx.settings.scenarios.has(name)) continue
    const started = Date.now()
    ctx.say(`scenario ${name}`)
    try {
      results[name] = await run(ctx, stem)
    } catch (err) {
      ctx.say(`scenario ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
      results[name] = { error: err instanceof Error ? err.message : String(err) }
    }
    ctx.say(`scenario ${name} took ${Math.round((Date.now() - started) / 1000)} s`)
  }
  return results as BenchResults
}
