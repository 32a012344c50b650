#!/usr/bin/env node
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { requireUp } from '../examples/helpdesk-api/find-up.js'
import { createBenchDatabase, seedBenchDatabase } from './lib/bench-database.js'
import { cleanUpOnSignal, makeCleanupStack, type CleanupStack } from './lib/cleanup.js'
import type { BenchContext } from './lib/context.js'
import { describeMachine } from './lib/machine.js'
import { runProxySetup } from './lib/proxy-setup.js'
import { connectRedis, deleteByPrefix } from './lib/redis-prefix.js'
import { startUpstream } from './lib/servers.js'
import { readSettings, type BenchSettings } from './lib/settings.js'
import { makeTokenBook } from './lib/tokens.js'
import { wrkVersion } from './lib/machine.js'
import { fileStem, writeReports } from './report/write-reports.js'
import { runScenarios } from './scenarios/index.js'

/**
 * `npm run bench`: one command, one run. Creates a database and a Redis prefix of its own,
 * starts the example API, runs the scenarios (see docs/benchmarks.md), writes
 * bench/results/<date>.{json,md,svg} and removes everything it started or created, also on
 * Ctrl-C. Not part of `npm test`.
 */
function say(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main(): Promise<number> {
  const settings = readSettings(process.argv.slice(2), process.env)
  if (wrkVersion() === undefined) throw new Error('wrk is not installed: apt-get install -y wrk (nginx-light too, for the nginx row)')
  const cleanup = makeCleanupStack(say)
  cleanUpOnSignal(cleanup, say)
  const startedAt = new Date()
  const outcome = { ok: false }
  try {
    const ctx = await prepare(settings, cleanup, outcome)
    const machine = await describeMachine(settings, ctx.db.pool, ctx.redis)
    const stem = fileStem(startedAt)
    const results = await runScenarios(ctx, stem)
    const files = writeReports(join(ctx.root, 'bench', 'results', stem), { startedAt, finishedAt: new Date(), settings, machine, results })
    for (const file of files) say(`wrote ${file}`)
    outcome.ok = !Object.values(results).some((r) => r !== undefined && 'error' in r)
    return outcome.ok ? 0 : 1
  } finally {
    await cleanup.run()
  }
}

async function prepare(settings: BenchSettings, cleanup: CleanupStack, outcome: { readonly ok: boolean }): Promise<BenchContext> {
  const root = dirname(requireUp(import.meta.url, 'package.json'))
  const runId = randomBytes(3).toString('hex')
  const tmpDir = mkdtempSync(join(tmpdir(), `ccp-bench-${runId}-`))
  cleanup.push('remove the temporary directory', () => {
    // Kept after a failure (or with BENCH_KEEP_LOGS=1): the logs of every process are there.
    if (outcome.ok && !settings.keepLogs) rmSync(tmpDir, { recursive: true, force: true })
    else say(`logs kept in ${tmpDir}`)
  })
  const redis = connectRedis(settings.redisUrl)
  const prefix = `ccp-bench:${runId}:`
  cleanup.push('close the Redis connection', async () => { await redis.quit() })
  cleanup.push(`delete Redis keys ${prefix}*`, async () => say(`deleted ${await deleteByPrefix(redis, prefix)} Redis keys under ${prefix}`))
  say(`run ${runId}: creating and seeding a database of its own`)
  const db = await createBenchDatabase(settings.databaseUrl)
  cleanup.push(`drop database ${db.name}`, () => db.drop())
  await seedBenchDatabase(db)
  const jwtSecret = randomBytes(24).toString('base64url')
  const base = {
    root, builtRoot: join(root, 'dist', 'bench-build'), runId, tmpDir, settings, redis, prefix, jwtSecret,
    adminToken: randomBytes(16).toString('hex'), tokens: makeTokenBook(jwtSecret), db, cleanup, say,
  }
  const upstream = await startUpstream(base)
  const ctx: BenchContext = { ...base, upstreamUrl: upstream.url }
  await runProxySetup(ctx)
  return ctx
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  say(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
  process.exitCode = 1
})
