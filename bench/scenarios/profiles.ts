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
 * the condition of the "MISS adds < 1 ms" target). Profiling slows the proxy, so these runs'
 * throughputs are not among the figures.
 */
export interface ProfileResult extends ProfileSummary {
  readonly profileFile: string
  readonly rpsWhileProfiling: number
}

export interface ProfilesResult {
  readonly hit: ProfileResult
  readonly miss: ProfileResult
}

export async function runProfiles(ctx: BenchContext, stem: string): Promise<ProfilesResult> {
  return {
    hit: await profile(ctx, stem, 'hit'),
    miss: await profile(ctx, stem, 'miss'),
  }
}

async function profile(ctx: BenchContext, stem: string, kind: 'hit' | 'miss'): Promise<ProfileResult> {
  const dir = join(ctx.root, 'bench', 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  const name = `${stem}-proxy-${kind}.cpuprofile`
  const proxy = await startBenchProxy(ctx, { label: `prof-${kind}`, upstreamUrl: ctx.upstreamUrl, routes: 'contract', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name] })
  let rps = NaN
  try {
    const auth = `Bearer ${ctx.tokens.forUser(1, 1)}`
    if (kind === 'hit') await captureResponse(proxy.url, TICKETS_PATH, { authorization: auth })
    const run = kind === 'hit'
      ? { baseUrl: proxy.url, path: TICKETS_PATH, authorization: auth, connections: ctx.settings.connections }
      : { baseUrl: proxy.url, path: TICKETS_PATH, authorization: auth, connections: 1, uniqueUrls: true }
    await runWrk(ctx, { ...run, label: `profile-${kind}-warmup`, durationSec: ctx.settings.warmupSec })
    rps = requestsPerSecond(await runWrk(ctx, { ...run, label: `profile-${kind}`, durationSec: ctx.settings.durationSec }))
  } finally {
    await proxy.stop()
  }
  const file = join(dir, name)
  if (!existsSync(file)) throw new Error(`no profile was written (${readdirSync(dir).join(', ')}); did the proxy exit cleanly?`)
  return { ...summarizeCpuProfile(file), profileFile: `bench/results/profiles/${name}`, rpsWhileProfiling: round(rps, 1) }
}
