import { Pool } from 'undici'
import type { BenchContext } from '../lib/context.js'
import { BENCH_SEED } from '../lib/bench-database.js'
import { deltaGroups, groupMetric } from '../lib/metrics-text.js'
import { makeMixWorkload, type MixRequest, type MixWorkload, type RouteName } from '../lib/mix-workload.js'
import { loadWriteTargets, runWriters, WRITE_RATES, type WriteCounts } from '../lib/mix-writers.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { driveAtRate } from '../lib/rate-driver.js'
import { makeStaleChecker, type StaleChecker, type StaleReport } from '../lib/stale-checker.js'
import { ratio, summarize, type LatencySummary } from '../lib/stats.js'
import { wallMs } from '../lib/wait.js'

/**
 * Scenario 4: a realistic mix through the proxy with invalidation on. Reads arrive at a
 * steady rate (open loop) over the three routes, from Zipf-chosen tenants, users and query
 * variants; writers commit straight to Postgres meanwhile. After a warm-up that is not
 * counted: hit ratio per route, upstream offload, and stale reads found by the history
 * checker (ticket versions served vs versions committed, with their commit times).
 */
const READ_RATE = 350 // sustainable on the 2-core machine with the API, Postgres and Redis on it
const WINDOW_MS = 10_000
const MAX_IN_FLIGHT = 64
const FRESHNESS_BOUND_MS = 5000 // the contract config's default invalidation.freshnessBound

export interface MixResult {
  readonly readRatePerSec: number
  readonly writeRatesPerSec: typeof WRITE_RATES
  readonly measuredSec: number
  readonly reads: number
  /** Due reads not sent because MAX_IN_FLIGHT were pending (whole run, warm-up included). */
  readonly readsSkipped: number
  readonly readErrors: number
  readonly byRoute: Record<string, { requests: number; hits: number; hitRatio: number | null; lastMinuteHitRatio: number | null; xcache: Record<string, number> }>
  /** Hit ratio per route in consecutive 10 s windows of the measured period (is it still warming up?). */
  readonly hitRatioByWindow: Record<string, (number | null)[]>
  readonly upstreamOffload: number | null
  readonly proxyReported: { requests: Record<string, number>; upstreamFetches: number }
  readonly latencyMsByXCache: Record<string, LatencySummary>
  readonly writes: WriteCounts
  readonly staleReads: StaleReport & { readonly boundMs: number }
}

interface Tally {
  readonly byRoute: Map<RouteName, Record<string, number>>
  /** Per route and window: [hits, requests]. */
  readonly windows: Map<RouteName, [number, number][]>
  readonly latency: Map<string, number[]>
  errors: number
}

export async function runRealisticMix(ctx: BenchContext): Promise<MixResult> {
  const proxy = await startBenchProxy(ctx, { label: 'mix', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  try {
    return await measureMix(ctx, proxy)
  } finally {
    await proxy.stop()
  }
}

export async function measureMix(ctx: BenchContext, proxy: BenchProxy): Promise<MixResult> {
  const { mixSec, mixWarmupSec } = ctx.settings
  const workload = makeMixWorkload({ tenants: BENCH_SEED.tenants ?? 20, peoplePerTenant: BENCH_SEED.peoplePerTenant ?? 100 }, 20251128)
  const checker = makeStaleChecker(FRESHNESS_BOUND_MS)
  const tally: Tally = { byRoute: new Map(), windows: new Map(), latency: new Map(), errors: 0 }
  const measureFrom = wallMs() + mixWarmupSec * 1000
  const proxyBefore = scheduleSnapshot(proxy, mixWarmupSec * 1000)
  ctx.say(`  mix: ${READ_RATE} reads/s, ${mixWarmupSec}s warm-up + ${mixSec}s measured`)
  const writers = runWriters({ pool: ctx.db.pool, workload, targets: await loadWriteTargets(ctx.db.pool), checker, seconds: mixWarmupSec + mixSec })
  const readers = runReaders(ctx, { proxy, workload, checker, tally, measureFrom, seconds: mixWarmupSec + mixSec })
  const [writes, reads] = await Promise.all([writers, readers])
  const proxyAfter = await snapshot(proxy)
  return summarizeMix({ tally, reads, writes, checker, proxyBefore: await proxyBefore, proxyAfter, measuredSec: mixSec })
}

interface ReaderRun {
  readonly proxy: BenchProxy
  readonly workload: MixWorkload
  readonly checker: StaleChecker
  readonly tally: Tally
  readonly measureFrom: number
  readonly seconds: number
}

async function runReaders(ctx: BenchContext, run: ReaderRun): Promise<{ started: number; skipped: number }> {
  const pool = new Pool(run.proxy.url, { connections: MAX_IN_FLIGHT, pipelining: 1 })
  let measuredStarted = 0
  const outcome = await driveAtRate({
    ratePerSec: READ_RATE, seconds: run.seconds, targets: Array.from({ length: MAX_IN_FLIGHT }, (_, i) => i),
    task: async () => {
      const request = run.workload.nextRequest()
      const startedAt = wallMs()
      const measuring = startedAt >= run.measureFrom
      if (measuring) measuredStarted++
      await readOnce(ctx, pool, request, { ...run, measuring, startedAt })
      return true
    },
  })
  await pool.close()
  return { started: measuredStarted, skipped: outcome.skipped }
}

async function readOnce(ctx: BenchContext, pool: Pool, request: MixRequest, run: ReaderRun & { measuring: boolean; startedAt: number }): Promise<void> {
  const headers = { authorization: `Bearer ${ctx.tokens.forUser(request.tenant, request.user)}` }
  try {
    const response = await pool.request({ method: 'GET', path: request.path, headers })
    const body = Buffer.from(await response.body.arrayBuffer())
    if (!run.measuring) return
    const xcache = String(response.headers['x-cache'] ?? (response.statusCode === 200 ? 'NONE' : `STATUS-${response.statusCode}`))
    // Why a request was not a hit (NOT-FOUND: never stored or evicted, EXPIRED, INVALIDATED ...), from its Cache-Status.
    const detail = xcache === 'HIT' ? undefined : /detail=([A-Z-]+)/.exec(String(response.headers['cache-status'] ?? ''))?.[1]
    count(run.tally, request.route, xcache, detail === undefined ? xcache : `${xcache} ${detail}`, wallMs() - run.startedAt)
    countWindow(run.tally, request.route, xcache === 'HIT', Math.floor((run.startedAt - run.measureFrom) / WINDOW_MS))
    if (request.route === 'tickets' && response.statusCode === 200) run.checker.checkRead(run.startedAt, servedVersions(body))
  } catch {
    if (run.measuring) run.tally.errors++
  }
}

function count(tally: Tally, route: RouteName, xcache: string, outcome: string, latencyMs: number): void {
  const counts = tally.byRoute.get(route) ?? {}
  counts[outcome] = (counts[outcome] ?? 0) + 1
  tally.byRoute.set(route, counts)
  const samples = tally.latency.get(xcache) ?? []
  samples.push(latencyMs)
  tally.latency.set(xcache, samples)
}

function countWindow(tally: Tally, route: RouteName, hit: boolean, window: number): void {
  const windows = tally.windows.get(route) ?? []
  while (windows.length <= window) windows.push([0, 0])
  const slot = windows[window] as [number, number]
  slot[0] += hit ? 1 : 0
  slot[1] += 1
  tally.windows.set(route, windows)
}

function servedVersions(body: Buffer): { id: number; version: number }[] {
  const parsed = JSON.parse(body.toString('utf8')) as { data?: { results?: { id: number; version: number }[] } }
  return (parsed.data?.results ?? []).map((t) => ({ id: t.id, version: t.version }))
}

interface ProxySnapshot { readonly requests: Record<string, number>; readonly fetches: number }

async function snapshot(proxy: BenchProxy): Promise<ProxySnapshot> {
  const samples = await proxy.metrics()
  const fetches = Object.values(groupMetric(samples, 'ccp_upstream_fetches_total', 'route')).reduce((a, b) => a + b, 0)
  return { requests: groupMetric(samples, 'ccp_requests_total', ['route', 'cache']), fetches }
}

function scheduleSnapshot(proxy: BenchProxy, afterMs: number): Promise<ProxySnapshot> {
  return new Promise((resolve, reject) => setTimeout(() => snapshot(proxy).then(resolve, reject), afterMs))
}

/**
 * The hit ratio over the last six complete 10 s windows: where the route stands once warm, as the
 * whole-run figure (which counts the cold start) does not say. A window past the measured
 * seconds is partial and left out.
 */
function lastMinuteRatio(windows: readonly [number, number][], measuredSec: number): number | null {
  const complete = Math.min(windows.length, Math.floor(measuredSec * 1000 / WINDOW_MS))
  const last = windows.slice(Math.max(0, complete - 6), complete)
  return ratio(last.reduce((sum, [h]) => sum + h, 0), last.reduce((sum, [, n]) => sum + n, 0))
}

function summarizeMix(parts: {
  tally: Tally; reads: { started: number; skipped: number }; writes: WriteCounts; checker: StaleChecker
  proxyBefore: ProxySnapshot; proxyAfter: ProxySnapshot; measuredSec: number
}): MixResult {
  const byRoute: MixResult['byRoute'] = {}
  let requests = 0
  let hits = 0
  for (const [route, xcache] of parts.tally.byRoute) {
    const total = Object.values(xcache).reduce((a, b) => a + b, 0)
    const routeHits = xcache['HIT'] ?? 0
    byRoute[route] = { requests: total, hits: routeHits, hitRatio: ratio(routeHits, total), lastMinuteHitRatio: lastMinuteRatio(parts.tally.windows.get(route) ?? [], parts.measuredSec), xcache }
    requests += total
    hits += routeHits
  }
  const latencyMsByXCache = Object.fromEntries([...parts.tally.latency].map(([k, v]) => [k, summarize(v)]))
  const proxyRequests = deltaGroups(parts.proxyAfter.requests, parts.proxyBefore.requests)
  return {
    readRatePerSec: READ_RATE, writeRatesPerSec: WRITE_RATES, measuredSec: parts.measuredSec,
    reads: parts.reads.started, readsSkipped: parts.reads.skipped, readErrors: parts.tally.errors,
    byRoute, upstreamOffload: ratio(hits, requests),
    hitRatioByWindow: Object.fromEntries([...parts.tally.windows].map(([route, w]) => [route, w.map(([h, n]) => ratio(h, n))])), latencyMsByXCache, writes: parts.writes,
    proxyReported: { requests: proxyRequests, upstreamFetches: parts.proxyAfter.fetches - parts.proxyBefore.fetches },
    staleReads: { ...parts.checker.report(), boundMs: FRESHNESS_BOUND_MS },
  }
}
