import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { sampleCpu } from '../lib/cpu-usage.js'
import { readRssBytes, spawnProcess } from '../lib/processes.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { startProxyFloor, type RunningServer } from '../lib/servers.js'
import { round } from '../lib/stats.js'
import { runWrk } from '../lib/wrk.js'
import { TICKETS_PATH } from './throughput.js'

/**
 * What the proxy adds to one request at 1 connection, measured in strict alternation
 * (`bench/load/alternate.ts`): the same client sends a request to the upstream, then the
 * same request to a proxy, then to the upstream again, then to the next proxy, and so on, so
 * all of them see the same moments of a shared, noisy machine. Every request has a URL of
 * its own, everywhere: through the caching proxy each one is a full MISS (lookup, stamps,
 * upstream, store). The pass-through row goes through a replica that does not cache the
 * route, and the floor row through the least a Node proxy can do
 * (`bench/servers/proxy-floor-server.ts`): what Node and undici add on this machine before
 * any framework or cache. With BENCH_COMPARE_CLI (another build's dist/cli.js), a further
 * run alternates between that build and this one, both MISSing: what a change did to a MISS,
 * measured side by side.
 */
export interface PairedLatency {
  readonly pairs: number
  readonly upstreamMs: { p50: number; p90: number; p99: number }
  readonly proxyMs: { p50: number; p90: number; p99: number }
  /** proxy p50 - upstream p50 */
  readonly addedP50Ms: number
  /** The median of (proxy - upstream) over the pairs. */
  readonly addedMedianOfPairsMs: number
  /** The proxy's CPU time per request over the alternation (its store work included), and its RSS after it. */
  readonly proxyCpuUsPerRequest?: number
  readonly proxyRssMiB?: number
  /** The same for the baseline when it is a proxy too (BENCH_COMPARE_CLI's build). */
  readonly baselineCpuUsPerRequest?: number
  readonly baselineRssMiB?: number
}

export interface MissLatencyResult {
  readonly seconds: number
  readonly miss: PairedLatency
  readonly passThrough: PairedLatency
  readonly floor: PairedLatency
  readonly versusOtherBuild?: BuildComparison
}

/**
 * BENCH_COMPARE_CLI: two fresh proxies, this build's and the other's, started and warmed the
 * same way, then alternated twice: the other build first in each pair, then this one first
 * (a proxy that ran longer, or always answered second, would otherwise look faster: with
 * one build on both sides, the unswapped first version of this comparison gave 0.19 ms and
 * 17% CPU in favour of the proxy that had run the earlier rows).
 */
export interface BuildComparison {
  readonly otherCli: string
  /** BENCH_THIS_CLI, when another build than this checkout's was compared. */
  readonly thisCli?: string
  /** [other first ('upstream' = the other build), this first ('upstream' = this build)] */
  readonly runs: readonly [PairedLatency, PairedLatency]
  /** This build's MISS minus the other's, p50 and median of pairs, averaged over both orders. */
  readonly differenceP50Ms: number
  readonly differenceMedianOfPairsMs: number
  /** CPU per MISS over both runs, and RSS at the end. */
  readonly thisCpuUsPerMiss: number | undefined
  readonly otherCpuUsPerMiss: number | undefined
  readonly thisRssMiB: number | undefined
  readonly otherRssMiB: number | undefined
}

type Summary = PairedLatency['upstreamMs']
interface AlternateOut { sent: number; targets: { pairs: number; a: Summary; b: Summary; addedMedian: number }[] }

type Target = Pick<BenchProxy | RunningServer, 'url' | 'process'>

export async function runMissLatency(ctx: BenchContext): Promise<MissLatencyResult> {
  const seconds = ctx.settings.missSec
  const proxy = await startBenchProxy(ctx, { label: 'miss', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  const pass = await startBenchProxy(ctx, { label: 'miss-pass', upstreamUrl: ctx.upstreamUrl, routes: 'pass-through', replicaOf: 'miss' })
  const floor = await startProxyFloor(ctx)
  try {
    await warmUp(ctx, [proxy.url, pass.url, floor.url])
    // One alternation for the three, so that they share the same minutes of a drifting machine.
    const [miss, passThrough, floorLatency] = await alternate(ctx, 'miss', [proxy, pass, floor], seconds * 3) as [PairedLatency, PairedLatency, PairedLatency]
    ctx.say(`  MISS adds ${miss.addedP50Ms} ms at p50 (${miss.upstreamMs.p50} -> ${miss.proxyMs.p50}), median of pairs ${miss.addedMedianOfPairsMs} ms`)
    ctx.say(`  pass-through adds ${passThrough.addedP50Ms} ms at p50, median of pairs ${passThrough.addedMedianOfPairsMs} ms`)
    ctx.say(`  the proxy floor adds ${floorLatency.addedP50Ms} ms at p50, median of pairs ${floorLatency.addedMedianOfPairsMs} ms`)
    const otherCli = ctx.settings.compareCli
    if (otherCli === undefined) return { seconds, miss, passThrough, floor: floorLatency }
    await pass.stop()
    await floor.process.stop()
    return { seconds, miss, passThrough, floor: floorLatency, versusOtherBuild: await compareBuilds(ctx, otherCli, seconds) }
  } finally {
    await proxy.stop()
    await pass.stop()
    await floor.process.stop()
  }
}

async function compareBuilds(ctx: BenchContext, otherCli: string, seconds: number): Promise<BuildComparison> {
  const here = await startBenchProxy(ctx, { label: 'miss-this', upstreamUrl: ctx.upstreamUrl, routes: 'contract', replicaOf: 'miss', ...(ctx.settings.thisCli ? { cli: ctx.settings.thisCli } : {}) })
  const other = await startBenchProxy(ctx, { label: 'miss-other', upstreamUrl: ctx.upstreamUrl, routes: 'contract', replicaOf: 'miss', cli: otherCli })
  try {
    await warmUp(ctx, [here.url, other.url])
    const [otherFirst] = await alternate(ctx, 'versus', [here], seconds, other) as [PairedLatency]
    const [thisFirst] = await alternate(ctx, 'versus-swapped', [other], seconds, here) as [PairedLatency]
    const mean = (a: number, b: number) => round((a + b) / 2)
    const cpu = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : round((a + b) / 2, 1))
    const result: BuildComparison = {
      otherCli, ...(ctx.settings.thisCli ? { thisCli: ctx.settings.thisCli } : {}), runs: [otherFirst, thisFirst],
      differenceP50Ms: mean(otherFirst.addedP50Ms, -thisFirst.addedP50Ms),
      differenceMedianOfPairsMs: mean(otherFirst.addedMedianOfPairsMs, -thisFirst.addedMedianOfPairsMs),
      thisCpuUsPerMiss: cpu(otherFirst.proxyCpuUsPerRequest, thisFirst.baselineCpuUsPerRequest),
      otherCpuUsPerMiss: cpu(otherFirst.baselineCpuUsPerRequest, thisFirst.proxyCpuUsPerRequest),
      thisRssMiB: thisFirst.baselineRssMiB, otherRssMiB: thisFirst.proxyRssMiB,
    }
    ctx.say(`  ${ctx.settings.thisCli ?? 'this build'}'s MISS minus ${otherCli}'s, both orders: ${result.differenceP50Ms} ms at p50 (${otherFirst.addedP50Ms} and ${-thisFirst.addedP50Ms}), ` +
      `median of pairs ${result.differenceMedianOfPairsMs} ms; CPU per MISS ${result.thisCpuUsPerMiss} µs here, ${result.otherCpuUsPerMiss} µs there; RSS ${result.thisRssMiB} / ${result.otherRssMiB} MiB`)
    return result
  } finally {
    await here.stop()
    await other.stop()
  }
}

/** Thousands of MISSes at 50 connections first, as in the throughput scenario: a cold JIT would be measured otherwise. */
async function warmUp(ctx: BenchContext, urls: readonly string[]): Promise<void> {
  for (const baseUrl of urls) {
    await runWrk(ctx, { label: 'miss-warmup', baseUrl, path: TICKETS_PATH, authorization: `Bearer ${ctx.tokens.forUser(1, 1)}`, connections: ctx.settings.connections, uniqueUrls: true, durationSec: ctx.settings.warmupSec * 2 })
  }
}

/** Alternates the upstream (or `baseline`) with each target in turn (`bench/load/alternate.ts`); one result per target. */
async function alternate(ctx: BenchContext, label: string, targets: readonly Target[], seconds: number, baseline?: Target): Promise<PairedLatency[]> {
  const out = join(ctx.tmpDir, `alternate-${label}.json`)
  const child = spawnProcess({
    name: `alternate-${label}`, command: process.execPath,
    args: [join(ctx.builtRoot, 'bench', 'load', 'alternate.js'), '--a', baseline?.url ?? ctx.upstreamUrl, ...targets.flatMap((t) => ['--b', t.url]), '--path', TICKETS_PATH,
      '--authorization', `Bearer ${ctx.tokens.forUser(1, 1)}`, '--unique', `${ctx.runId}${label}${Date.now().toString(36)}`,
      '--seconds', String(seconds), '--warmup', String(ctx.settings.warmupSec), '--out', out],
    cpus: ctx.settings.loadCpu, logFile: join(ctx.tmpDir, `alternate-${label}.log`),
  })
  ctx.cleanup.push(`stop ${child.name}`, () => child.stop(1000))
  const before = new Map([...targets, ...(baseline ? [baseline] : [])].map((p) => [p, sampleCpu(p.process.pid, ctx.settings.serverCpu)]))
  const code = await child.exited
  if (code !== 0) throw new Error(`${child.name} exited with ${String(code)}; see ${child.logFile}`)
  const result = JSON.parse(readFileSync(out, 'utf8')) as AlternateOut
  const usPerRequest = (p: Target, sent: number) => {
    const now = sampleCpu(p.process.pid, ctx.settings.serverCpu)
    const at = before.get(p)
    return now && at && sent > 0 ? round(((now.processSeconds - at.processSeconds) / sent) * 1e6, 1) : undefined
  }
  const rssMiB = (p: Target) => {
    const bytes = readRssBytes(p.process.pid)
    return bytes === undefined ? undefined : round(bytes / 2 ** 20, 1)
  }
  const ms = (x: Summary) => ({ p50: round(x.p50), p90: round(x.p90), p99: round(x.p99) })
  // The baseline (another build) answered every target's pairs: its CPU is divided by all of them.
  const baselineFigures = baseline ? { baselineCpuUsPerRequest: usPerRequest(baseline, result.sent * targets.length), baselineRssMiB: rssMiB(baseline) } : {}
  return targets.map((target, i) => {
    const r = result.targets[i]
    if (r === undefined) throw new Error(`${child.name} wrote no result for ${target.url}`)
    return {
      pairs: r.pairs, upstreamMs: ms(r.a), proxyMs: ms(r.b), addedP50Ms: round(r.b.p50 - r.a.p50), addedMedianOfPairsMs: round(r.addedMedian),
      proxyCpuUsPerRequest: usPerRequest(target, result.sent), proxyRssMiB: rssMiB(target), ...baselineFigures,
    }
  })
}
