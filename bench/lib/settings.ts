/**
 * What one `npm run bench` does and for how long. Defaults give a full run in under ten
 * minutes on the 2-core machine; environment variables shorten or lengthen it.
 */
export const SCENARIOS = ['throughput', 'miss', 'mix', 'latency', 'scaling', 'memory', 'profile', 'soak', 'capacity'] as const
/**
 * Run by `npm run bench` without --only; the 10-minute soak runs only when asked (`npm run soak`),
 * and so does capacity (`--only capacity`: about a minute, and it starts a Redis Cluster).
 */
const DEFAULT_SCENARIOS = SCENARIOS.filter((name) => name !== 'soak' && name !== 'capacity')
export type ScenarioName = (typeof SCENARIOS)[number]

export interface BenchSettings {
  readonly scenarios: ReadonlySet<ScenarioName>
  /** Seconds per measured wrk run, and of the discarded warm-up before it. */
  readonly durationSec: number
  readonly warmupSec: number
  readonly connections: number
  readonly mixSec: number
  /** Seconds of each alternating run of the MISS latency scenario. */
  readonly missSec: number
  /** Rounds of the HIT-vs-ceiling alternation (each: ceiling, HIT, HIT, ceiling). */
  readonly alternatingRounds: number
  /** Another build's dist/cli.js: the MISS scenario also alternates between it and this one. */
  readonly compareCli: string | undefined
  /** BENCH_THIS_CLI: the build compared against compareCli instead of this checkout's (to compare two other builds). */
  readonly thisCli: string | undefined
  readonly soakSec: number
  readonly mixWarmupSec: number
  readonly latencySec: number
  readonly commitRates: readonly number[]
  readonly scaleSizes: readonly number[]
  readonly memoryEntries: number
  /** CPU of the server under test, and of the load generator (taskset -c). */
  readonly serverCpu: string
  readonly loadCpu: string
  readonly redisUrl: string
  readonly databaseUrl: string
  /** BENCH_KEEP_LOGS=1: keep the run's temporary directory (every process's log) after a successful run too. */
  readonly keepLogs: boolean
  /** BENCH_TRACE_GC=1: the profiled servers also run with --trace-gc (their logs then list every collection). */
  readonly traceGc: boolean
}

export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): BenchSettings {
  const only = argv.flatMap((arg, i) => (arg === '--only' ? (argv[i + 1] ?? '').split(',') : []))
  const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name))
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`)
  const number = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
    return value
  }
  return {
    scenarios: new Set((only.length > 0 ? only : DEFAULT_SCENARIOS) as ScenarioName[]),
    soakSec: number('BENCH_SOAK_SECONDS', 600),
    durationSec: number('BENCH_DURATION', 10),
    warmupSec: number('BENCH_WARMUP', 3),
    connections: number('BENCH_CONNECTIONS', 50),
    mixSec: number('BENCH_MIX_SECONDS', 60),
    missSec: number('BENCH_MISS_SECONDS', 20),
    compareCli: env['BENCH_COMPARE_CLI'] || undefined,
    thisCli: env['BENCH_THIS_CLI'] || undefined,
    alternatingRounds: number('BENCH_ALTERNATING_ROUNDS', 5),
    mixWarmupSec: number('BENCH_MIX_WARMUP', 10),
    latencySec: number('BENCH_LATENCY_SECONDS', 15),
    commitRates: (env['BENCH_COMMIT_RATES'] ?? '100,1000').split(',').map((rate) => {
      const value = Number(rate)
      if (!Number.isFinite(value) || value <= 0) throw new Error('BENCH_COMMIT_RATES must be a comma-separated list of positive numbers')
      return value
    }),
    scaleSizes: [10_000, number('BENCH_SCALE_LARGE', 1_000_000)],
    memoryEntries: number('BENCH_MEMORY_ENTRIES', 100_000),
    serverCpu: env['BENCH_SERVER_CPU'] ?? '1',
    loadCpu: env['BENCH_LOAD_CPU'] ?? '0',
    redisUrl: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    databaseUrl: env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    keepLogs: env['BENCH_KEEP_LOGS'] === '1',
    traceGc: env['BENCH_TRACE_GC'] === '1',
  }
}
