import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { captureResponse } from '../lib/capture.js'
import { summarizeCpuProfile, type ProfileSummary } from '../lib/cpu-profile.js'
import { startBenchProxy } from '../lib/proxy-process.js'
import { round } from '../lib/stats.js'
import { requestsPerSecond, runWrk } from '../lib/wrk.js'
import { TICKETS_PATH } from './throughput.js'

/**
 * Where a request spends its time: the proxy runs under `node --cpu-prof` while wrk sends
 * the ticket list, and the profile is written when the proxy exits on SIGTERM. Two runs: the
 * HIT (the primed URL at 50 connections) and the MISS (a new URL per request, 1 connection,
 * the condition of the "MISS adds < 1 ms" target), and the same load passed through
 * uncached, for what a MISS adds. Only the measured run is summarized, with its busy CPU
 * time per request. Profiling slows the proxy, so these runs' throughputs are not among the
 * figures.
 */
export interface ProfileResult extends ProfileSummary {
  readonly profileFile: string
  readonly rpsWhileProfiling: number
  /** Busy CPU time per request within the measured run (the summary's window), profiler overhead included. */
  readonly busyUsPerRequest: number
}

export interface ProfilesResult {
  readonly hit: ProfileResult
  readonly miss: ProfileResult
  /** The same load as the MISS's through a replica that does not cache the route: what a MISS adds is the difference. */
  readonly passThrough?: ProfileResult
}

export async function runProfiles(ctx: BenchContext, stem: string): Promise<ProfilesResult> {
  return {
    hit: await profile(ctx, stem, 'hit'),
    miss: await profile(ctx, stem, 'miss'),
    passThrough: await profile(ctx, stem, 'pass'),
  }
}

async function profile(ctx: BenchContext, stem: string, kind: 'hit' | 'miss' | 'pass'): Promise<ProfileResult> {
  const dir = join(ctx.root, 'bench', 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  const name = `${stem}-proxy-${kind}.cpuprofile`
  const proxy = await startBenchProxy(ctx, { label: `prof-${kind}`, upstreamUrl: ctx.upstreamUrl, routes: kind === 'pass' ? 'pass-through' : 'contract', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name] })
  let rps = NaN
  let requests = NaN
  let measured = { start: 0, end: 0 }
  try {
    const auth = `Bearer ${ctx.tokens.forUser(1, 1)}`
    if (kind === 'hit') await captureResponse(proxy.url, TICKETS_PATH, { authorization: auth })
    const run = kind === 'hit'
      ? { baseUrl: proxy.url, path: TICKETS_PATH, authorization: auth, connections: ctx.settings.connections }
      : { baseUrl: proxy.url, path: TICKETS_PATH, authorization: auth, connections: 1, uniqueUrls: true }
    await runWrk(ctx, { ...run, label: `profile-${kind}-warmup`, durationSec: ctx.settings.warmupSec })
    const start = Date.now()
    const result = await runWrk(ctx, { ...run, label: `profile-${kind}`, durationSec: ctx.settings.durationSec })
    measured = { start, end: Date.now() }
    rps = requestsPerSecond(result)
    requests = result.requests
  } finally {
    await proxy.stop()
  }
  const stopped = Date.now()
  const file = join(dir, name)
  if (!existsSync(file)) throw new Error(`no profile was written (${readdirSync(dir).join(', ')}); did the proxy exit cleanly?`)
  // Only the measured run: start-up (module loading, config validation), warm-up and drain left out.
  const summary = summarizeCpuProfile(file, 15, { fromEndMs: stopped - measured.start, toEndMs: stopped - measured.end })
  return { ...summary, profileFile: `bench/results/profiles/${name}`, rpsWhileProfiling: round(rps, 1), busyUsPerRequest: round((summary.busyMs / requests) * 1000, 1) }
}
