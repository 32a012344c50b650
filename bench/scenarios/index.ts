import type { BenchContext } from '../lib/context.js'
import type { ScenarioName } from '../lib/settings.js'
import { runThroughput, type ThroughputResult } from './throughput.js'

export interface Failed { readonly error: string }

export interface BenchResults {
  throughput?: ThroughputResult | Failed
}

type Runner = (ctx: BenchContext, results: BenchResults) => Promise<unknown>

/** In run order. A scenario that fails is recorded as failed and the run goes on. */
const RUNNERS: readonly (readonly [ScenarioName, Runner])[] = [
  ['throughput', (ctx) => runThroughput(ctx)],
]

export async function runScenarios(ctx: BenchContext): Promise<BenchResults> {
  const results: Record<string, unknown> = {}
  for (const [name, run] of RUNNERS) {
    if (!ctx.settings.scenarios.has(name)) continue
    const started = Date.now()
    ctx.say(`scenario ${name}`)
    try {
      results[name] = await run(ctx, results as BenchResults)
    } catch (err) {
      ctx.say(`scenario ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
      results[name] = { error: err instanceof Error ? err.message : String(err) }
    }
    ctx.say(`scenario ${name} took ${Math.round((Date.now() - started) / 1000)} s`)
  }
  return results as BenchResults
}
