import { spawnSync } from 'node:child_process'
import { cpus, freemem, loadavg, release, totalmem } from 'node:os'
import type pg from 'pg'
import type { Redis } from 'ioredis'
import { nginxVersion } from './nginx.js'
import { hasTaskset } from './processes.js'
import { readRedisVersion } from './redis-prefix.js'
import type { BenchSettings } from './settings.js'

/** The conditions a run was measured under: results from a shared, noisy machine need them. */
export interface MachineInfo {
  readonly cpuModel: string
  readonly cpuCount: number
  readonly memoryGiB: number
  readonly freeMemoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly postgres: string
  readonly redis: string
  readonly nginx: string | null
  readonly wrk: string | null
  readonly pinning: string
  readonly loadAverageAtStart: readonly number[]
}

export async function describeMachine(settings: BenchSettings, pool: pg.Pool, redis: Redis): Promise<MachineInfo> {
  const version = await pool.query<{ v: string }>('SELECT current_setting(\'server_version\') AS v')
  const gib = (bytes: number): number => Math.round((bytes / 2 ** 30) * 10) / 10
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown', cpuCount: cpus().length,
    memoryGiB: gib(totalmem()), freeMemoryGiB: gib(freemem()), kernel: release(), node: process.version,
    postgres: version.rows[0]?.v ?? 'unknown', redis: await readRedisVersion(redis),
    nginx: nginxVersion() ?? null, wrk: wrkVersion() ?? null,
    pinning: hasTaskset()
      ? `taskset: server under test on CPU ${settings.serverCpu}, wrk on CPU ${settings.loadCpu}; upstream API, Postgres, Redis and the bench's own Node load generators not pinned`
      : 'no taskset: nothing pinned',
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

export function wrkVersion(): string | undefined {
  const result = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  return /wrk (\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1]
}
