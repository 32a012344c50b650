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
 * Where a HIT spends its time: the proxy runs under `node --cpu-prof` while wrk sends the
 * primed ticket list at 50 connections; the profile is written when the proxy exits on
 * SIGTERM. Profiling slows the proxy, so this run's throughput is not one of the figures.
 */
export interface ProfileResult extends ProfileSummary {
  readonly profileFile: string
  readonly rpsWhileProfiling: number
}

export async function runHitProfile(ctx: BenchContext, stem: string): Promise<ProfileResult> {
  const dir = join(ctx.root, 'bench', 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  const name = `${stem}-proxy-hit.cpuprofile`
  const proxy = await startBenchProxy(ctx, { label: 'prof', upstreamUrl: ctx.upstreamUrl, routes: 'contract', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name] })
  let rps = NaN
  try {
    const auth = `Bearer ${ctx.tokens.forUser(1, 1)}`
    await captureResponse(proxy.url, TICKETS_PATH, { authorization: auth })
    const run = { baseUrl: proxy.url, path: TICKETS_PATH, authorization: auth, connections: ctx.settings.connections }
    await runWrk(ctx, { ...run, label: 'profile-warmup', durationSec: ctx.settings.warmupSec })
    rps = requestsPerSecond(await runWrk(ctx, { ...run, label: 'profile', durationSec: ctx.settings.durationSec }))
  } finally {
    await proxy.stop()
  }
  const file = join(dir, name)
  if (!existsSync(file)) throw new Error(`no profile was written (${readdirSync(dir).join(', ')}); did the proxy exit cleanly?`)
  return { ...summarizeCpuProfile(file), profileFile: `bench/results/profiles/${name}`, rpsWhileProfiling: round(rps, 1) }
}
