import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'
import { Redis } from 'ioredis'

/**
 * A diagnosis, not a scenario: what ioredis's auto-pipelining does to the garbage collector
 * when one command is in flight at a time (a proxy's MISS at one connection). Each mode runs
 * in a fresh process: MGETs of three keys and writes of a 17 KB value (the ticket list's
 * size), one at a time with a 4 ms pause between pairs, for SECONDS_PER_MODE (20); the
 * collections of the last three quarters are counted (perf_hooks 'gc' entries).
 *
 *   node dist/bench-build/bench/diag/ioredis-gc.js            # both modes, a table
 *   REDIS_URL=redis://host:6379 node ...                        # another Redis
 */
const MODES = { 'auto-pipelining': true, 'no auto-pipelining': false } as const
type Mode = keyof typeof MODES

interface ModeResult { mode: Mode; pairs: number; counted: number; minor: number; minorMs: number; major: number; majorMs: number; heapUsedMiB: number }

async function runMode(mode: Mode, seconds: number): Promise<ModeResult> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: MODES[mode] })
  const prefix = `ccp-diag-gc:${process.pid}:`
  const value = Buffer.alloc(17_000, 97)
  const gcs: { kind: number; ms: number }[] = []
  let counting = false
  const observer = new PerformanceObserver((list) => {
    if (counting) for (const entry of list.getEntries()) gcs.push({ kind: (entry as PerformanceEntry & { detail: { kind: number } }).detail.kind, ms: entry.duration })
  })
  observer.observe({ entryTypes: ['gc'] })
  let pairs = 0
  let counted = 0
  const started = Date.now()
  while (Date.now() - started < seconds * 1000) {
    counting = Date.now() - started > seconds * 250
    if (counting) counted++
    const key = `${prefix}${pairs++}`
    await redis.mgetBuffer(key, `${prefix}a`, `${prefix}b`)
    await redis.set(key, value, 'PX', 10_000)
    await new Promise((resolve) => setTimeout(resolve, 4))
  }
  observer.disconnect()
  await redis.quit()
  const of = (kind: number) => gcs.filter((gc) => gc.kind === kind)
  const ms = (list: { ms: number }[]) => list.reduce((sum, gc) => sum + gc.ms, 0)
  const minor = of(constants.NODE_PERFORMANCE_GC_MINOR)
  const major = of(constants.NODE_PERFORMANCE_GC_MAJOR)
  return { mode, pairs, counted, minor: minor.length, minorMs: ms(minor), major: major.length, majorMs: ms(major), heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20 }
}

async function main(): Promise<void> {
  const seconds = Number(process.env['SECONDS_PER_MODE'] ?? 20)
  const mode = process.argv[2] as Mode | undefined
  if (mode !== undefined) {
    process.stdout.write(JSON.stringify(await runMode(mode, seconds)))
    return
  }
  const rows: ModeResult[] = []
  for (const name of Object.keys(MODES) as Mode[]) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8', env: process.env })
    if (child.status !== 0) throw new Error(`${name}: ${child.stderr}`)
    rows.push(JSON.parse(child.stdout) as ModeResult)
  }
  console.log(`one command in flight, ${seconds} s per mode (collections of the last ${seconds * 0.75} s)`)
  console.log('| mode | pairs counted | scavenges | mean scavenge ms | scavenge µs per pair | mark-compacts | mark-compact µs per pair | heap used at the end, MiB |')
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) {
    const perPair = (ms: number) => ((ms * 1000) / Math.max(1, r.counted)).toFixed(1)
    console.log(`| ${r.mode} | ${r.counted} | ${r.minor} | ${(r.minorMs / Math.max(1, r.minor)).toFixed(2)} | ${perPair(r.minorMs)} | ${r.major} | ${perPair(r.majorMs)} | ${r.heapUsedMiB.toFixed(1)} |`)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
