import type { Redis } from 'ioredis'
import type pg from 'pg'
import type { BenchContext } from '../lib/context.js'
import { watchDeletes, type DelWatcher } from '../lib/del-watcher.js'
import { sumMetric } from '../lib/metrics-text.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { driveAtRate } from '../lib/rate-driver.js'
import { enableDelNotifications } from '../lib/redis-prefix.js'
import { round, summarize, type LatencySummary } from '../lib/stats.js'
import { wallMs } from '../lib/wait.js'

/**
 * Scenario 2: commit-to-invalidation latency at steady commit rates. Writers UPDATE probe
 * tickets of y_helpdesk_ticket (autocommit, one row each). Each probe ticket has its own
 * reporter and no assignee, so its commit invalidates exactly one tag, `tickets:<t>:<p>`,
 * whose stamp the writer sets just before the commit. Latency runs from the moment the
 * commit returned to the writer to the moment Redis executed the stamp's DEL, seen through
 * a keyspace notification (see del-watcher.ts); no probe shares a tag with one in flight.
 */
interface ProbeTarget { readonly ticket: number; readonly tenant: number; readonly person: number }
interface ProbeSample { readonly fromCommitReturnMs: number; readonly fromStatementMs: number }

export interface LatencyAtRate {
  readonly targetRate: number
  readonly achievedRate: number
  readonly commits: number
  readonly skipped: number
  readonly unobserved: number
  /** From the writer's commit return to the DEL in Redis (the primary figure). */
  readonly fromCommitReturnMs: LatencySummary
  /** From clock_timestamp() inside the UPDATE, i.e. including the commit itself. */
  readonly fromStatementMs: LatencySummary
  /** The proxy's own view (commit timestamp in the WAL to confirmed purge), mean only. */
  readonly proxyReportedMeanMs: number | null
}

const PROBE_TIMEOUT_MS = 10_000

export async function runInvalidationLatency(ctx: BenchContext): Promise<{ rates: LatencyAtRate[] }> {
  const targets = await insertProbeTickets(ctx.db.pool)
  const proxy = await startBenchProxy(ctx, { label: 'inv', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  const restore = await enableDelNotifications(ctx.redis)
  ctx.cleanup.push('restore notify-keyspace-events', restore)
  const watcher = await watchDeletes(ctx.settings.redisUrl, `${proxy.keyPrefix}s:tickets:*`)
  try {
    const rates: LatencyAtRate[] = []
    for (const rate of ctx.settings.commitRates) {
      ctx.say(`  invalidation latency at ${rate} commits/s for ${ctx.settings.latencySec}s`)
      rates.push(await measureAtRate(ctx, { proxy, watcher, targets, rate }))
    }
    return { rates }
  } finally {
    await watcher.close()
    await restore()
    await proxy.stop()
  }
}

/** One unassigned ticket per person, dated long ago so that it never shows on a first page. */
async function insertProbeTickets(pool: pg.Pool): Promise<ProbeTarget[]> {
  const result = await pool.query<{ id: number; client_id: number; reporter_id: number }>(`
    INSERT INTO y_helpdesk_ticket (client_id, bu_id, reporter_id, assigned_to_id, status, priority, title, created_at, updated_at)
    SELECT client_id, bu_id, id, NULL, 'new', 'P4', 'bench latency probe', '2024-01-01', '2024-01-01' FROM peoples
    RETURNING id, client_id, reporter_id`)
  return result.rows.map((r) => ({ ticket: r.id, tenant: r.client_id, person: r.reporter_id }))
}

interface RateRun { readonly proxy: BenchProxy; readonly watcher: DelWatcher; readonly targets: readonly ProbeTarget[]; readonly rate: number }

async function measureAtRate(ctx: BenchContext, run: RateRun): Promise<LatencyAtRate> {
  const before = await proxyCommitToPurge(run.proxy)
  const outcome = await driveAtRate({
    ratePerSec: run.rate, seconds: ctx.settings.latencySec, targets: run.targets,
    task: (target) => probe(ctx.db.pool, ctx.redis, run.watcher, `${run.proxy.keyPrefix}s:tickets:${target.tenant}:${target.person}`, target.ticket),
  })
  const after = await proxyCommitToPurge(run.proxy)
  const count = after.count - before.count
  return {
    targetRate: run.rate,
    achievedRate: round((outcome.started / outcome.elapsedMs) * 1000, 1),
    commits: outcome.started, skipped: outcome.skipped, unobserved: outcome.failed,
    fromCommitReturnMs: summarize(outcome.results.map((s) => s.fromCommitReturnMs)),
    fromStatementMs: summarize(outcome.results.map((s) => s.fromStatementMs)),
    proxyReportedMeanMs: count > 0 ? round(((after.sum - before.sum) / count) * 1000) : null,
  }
}

async function probe(pool: pg.Pool, redis: Redis, watcher: DelWatcher, stampKey: string, ticket: number): Promise<ProbeSample | undefined> {
  const deleted = watcher.expect(stampKey)
  await redis.set(stampKey, 'bench-probe', 'PX', 600_000)
  const result = await pool.query<{ stmt_ms: number }>(
    'UPDATE y_helpdesk_ticket SET version = version + 1 WHERE id = $1 RETURNING (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS stmt_ms', [ticket])
  const committedAt = wallMs()
  const seenAt = await Promise.race([deleted, timeout(PROBE_TIMEOUT_MS)])
  if (seenAt === undefined) {
    watcher.forget(stampKey)
    return undefined
  }
  return { fromCommitReturnMs: seenAt - committedAt, fromStatementMs: seenAt - Number(result.rows[0]?.stmt_ms) }
}

function timeout(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref())
}

async function proxyCommitToPurge(proxy: BenchProxy): Promise<{ sum: number; count: number }> {
  const samples = await proxy.metrics()
  return { sum: sumMetric(samples, 'ccp_commit_to_purge_seconds_sum'), count: sumMetric(samples, 'ccp_commit_to_purge_seconds_count') }
}
