import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from './context.js'
import { spawnProcess } from './processes.js'

/** One wrk run (1 thread, N connections, pinned to the load CPU) and what its Lua script reports. */
export interface WrkRun {
  readonly label: string
  readonly baseUrl: string
  readonly path: string
  readonly authorization?: string
  readonly tenant?: string
  /** Every request gets its own URL (a cache MISS each time on the proxy). */
  readonly uniqueUrls?: boolean
  /** Send Accept-Encoding: gzip. */
  readonly gzip?: boolean
  readonly connections: number
  readonly durationSec: number
}

export interface WrkResult {
  readonly requests: number
  readonly durationUs: number
  readonly bytes: number
  readonly errors: { connect: number; read: number; write: number; status: number; timeout: number }
  readonly latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }
}

export async function runWrk(ctx: BenchContext, run: WrkRun): Promise<WrkResult> {
  const out = join(ctx.tmpDir, `wrk-${run.label}-${Date.now()}.json`)
  const wrk = spawnProcess({
    name: `wrk-${run.label}`, command: 'wrk',
    args: ['-t1', `-c${run.connections}`, `-d${run.durationSec}s`, '--timeout', '10s', '-s', join(ctx.root, 'bench', 'lua', 'get.lua'), run.baseUrl],
    cpus: ctx.settings.loadCpu,
    env: {
      ...process.env,
      BENCH_PATH: run.path, BENCH_AUTH: run.authorization ?? '', BENCH_TENANT: run.tenant ?? '', BENCH_GZIP: run.gzip === true ? '1' : '',
      BENCH_UNIQUE: run.uniqueUrls === true ? `${ctx.runId}${Date.now().toString(36)}` : '', BENCH_OUT: out,
    },
    logFile: join(ctx.tmpDir, 'wrk.log'),
  })
  ctx.cleanup.push(`stop ${wrk.name}`, () => wrk.stop(1000))
  const code = await wrk.exited
  if (code !== 0) throw new Error(`wrk ${run.label} exited with ${String(code)}; see ${ctx.tmpDir}/wrk.log`)
  return JSON.parse(readFileSync(out, 'utf8')) as WrkResult
}

export function requestsPerSecond(result: WrkResult): number {
  return result.requests / (result.durationUs / 1e6)
}
