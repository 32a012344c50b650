import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { captureResponse, writeCapture } from '../lib/capture.js'
import { selfTimes, summarizeCpuProfile, type ProfileSummary, type ProfileWindow } from '../lib/cpu-profile.js'
import { startBenchProxy } from '../lib/proxy-process.js'
import { startCeiling } from '../lib/servers.js'
import { round } from '../lib/stats.js'
import { requestsPerSecond, runWrk, type WrkRun } from '../lib/wrk.js'
import { TICKETS_PATH } from './throughput.js'

/**
 * Where a request spends its time: the server runs under `node --cpu-prof` while wrk sends
 * the ticket list, and the profile is written when it exits on SIGTERM. The runs: the HIT
 * (the primed URL at 50 connections) and the Node ceiling answering the same bytes under the
 * same load, for where the HIT's extra microseconds go; the MISS (a new URL per request, 1
 * connection, the condition of the "MISS adds < 1 ms" target) and the same load passed
 * through uncached, for what a MISS adds. Only the measured run is summarized, with its busy
 * CPU time per request. Profiling slows the server, so these runs' throughputs are not among
 * the figures.
 */
export interface ProfileResult extends ProfileSummary {
  readonly profileFile: string
  readonly rpsWhileProfiling: number
  /** Busy CPU time per request within the measured run (the summary's window), profiler overhead included. */
  readonly busyUsPerRequest: number
}

/** Self time per request, one profile minus another: the functions that cost the first one more. */
export interface ProfileDifference {
  readonly busyUsPerRequest: number
  readonly largest: readonly { readonly frame: string; readonly usPerRequest: number }[]
}

export interface ProfilesResult {
  readonly hit: ProfileResult
  readonly miss: ProfileResult
  /** The HIT's load on the Node ceiling, and HIT minus ceiling. */
  readonly ceiling?: ProfileResult
  readonly hitMinusCeiling?: ProfileDifference
  /** The same load as the MISS's through a replica that does not cache the route, and MISS minus pass-through. */
  readonly passThrough?: ProfileResult
  readonly missMinusPassThrough?: ProfileDifference
}

type Kind = 'hit' | 'ceiling' | 'miss' | 'pass'

interface Profiled { readonly result: ProfileResult; readonly selfUsPerRequest: Map<string, number> }

export async function runProfiles(ctx: BenchContext, stem: string): Promise<ProfilesResult> {
  const hitResponse = join(ctx.tmpDir, 'profile-hit-response.json')
  const hit = await profile(ctx, stem, 'hit', hitResponse)
  const ceiling = await profile(ctx, stem, 'ceiling', hitResponse)
  const miss = await profile(ctx, stem, 'miss', hitResponse)
  const pass = await profile(ctx, stem, 'pass', hitResponse)
  return {
    hit: hit.result, ceiling: ceiling.result, hitMinusCeiling: difference(hit, ceiling),
    miss: miss.result, passThrough: pass.result, missMinusPassThrough: difference(miss, pass),
  }
}

async function profile(ctx: BenchContext, stem: string, kind: Kind, hitResponse: string): Promise<Profiled> {
  const dir = join(ctx.root, 'bench', 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  const name = `${stem}-${kind === 'ceiling' ? 'ceiling' : `proxy-${kind}`}.cpuprofile`
  // The MISS and pass-through runs are mostly idle at one connection: a finer interval gives them enough samples.
  const intervalUs = kind === 'miss' || kind === 'pass' ? 100 : 1000
  const nodeArgs = [...(ctx.settings.traceGc ? ['--trace-gc'] : []), '--cpu-prof', '--cpu-prof-interval', String(intervalUs), '--cpu-prof-dir', dir, '--cpu-prof-name', name]
  const auth = `Bearer ${ctx.tokens.forUser(1, 1)}`
  const server = kind === 'ceiling'
    ? await startCeiling(ctx, { responseFile: hitResponse, anyQuery: false, label: 'prof-ceiling', cpus: ctx.settings.serverCpu, nodeArgs })
    : await startBenchProxy(ctx, { label: `prof-${kind}`, upstreamUrl: ctx.upstreamUrl, routes: kind === 'pass' ? 'pass-through' : 'contract', nodeArgs })
  const stop = () => server.process.stop()
  let rps: number
  let requests = NaN
  let measured: { start: number; end: number }
  try {
    if (kind === 'hit') {
      await captureResponse(server.url, TICKETS_PATH, { authorization: auth }) // the MISS that stores it
      writeCapture(hitResponse, await captureResponse(server.url, TICKETS_PATH, { authorization: auth }))
    }
    const run: Omit<WrkRun, 'label' | 'durationSec'> = kind === 'hit' || kind === 'ceiling'
      ? { baseUrl: server.url, path: TICKETS_PATH, authorization: auth, connections: ctx.settings.connections }
      : { baseUrl: server.url, path: TICKETS_PATH, authorization: auth, connections: 1, uniqueUrls: true }
    await runWrk(ctx, { ...run, label: `profile-${kind}-warmup`, durationSec: ctx.settings.warmupSec })
    const start = Date.now()
    const result = await runWrk(ctx, { ...run, label: `profile-${kind}`, durationSec: ctx.settings.durationSec })
    measured = { start, end: Date.now() }
    rps = requestsPerSecond(result)
    requests = result.requests
  } finally {
    await stop()
  }
  const stopped = Date.now()
  const file = join(dir, name)
  if (!existsSync(file)) throw new Error(`no profile was written (${readdirSync(dir).join(', ')}); did the server exit cleanly?`)
  // Only the measured run: start-up (module loading, config validation), warm-up and drain left out.
  const window: ProfileWindow = { fromEndMs: stopped - measured.start, toEndMs: stopped - measured.end }
  const summary = summarizeCpuProfile(file, 15, window)
  const perRequest = (ms: number) => (ms / requests) * 1000
  return {
    result: { ...summary, profileFile: `bench/results/profiles/${name}`, rpsWhileProfiling: round(rps, 1), busyUsPerRequest: round(perRequest(summary.busyMs), 1) },
    selfUsPerRequest: new Map([...selfTimes(file, window)].map(([frame, ms]) => [frame, perRequest(ms)])),
  }
}

function difference(a: Profiled, b: Profiled, top = 15): ProfileDifference {
  const frames = new Set([...a.selfUsPerRequest.keys(), ...b.selfUsPerRequest.keys()])
  const largest = [...frames]
    .map((frame) => ({ frame, usPerRequest: round((a.selfUsPerRequest.get(frame) ?? 0) - (b.selfUsPerRequest.get(frame) ?? 0), 2) }))
    .sort((x, y) => y.usPerRequest - x.usPerRequest)
    .slice(0, top)
  return { busyUsPerRequest: round(a.result.busyUsPerRequest - b.result.busyUsPerRequest, 1), largest }
}

