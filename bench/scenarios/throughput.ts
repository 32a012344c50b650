import { join } from 'node:path'
import type { BenchContext } from '../lib/context.js'
import { bodyBytes, captureResponse, writeCapture } from '../lib/capture.js'
import { deltaGroups, groupMetric } from '../lib/metrics-text.js'
import { nginxVersion, startNginx } from '../lib/nginx.js'
import { startBenchProxy, type BenchProxy } from '../lib/proxy-process.js'
import { startCeiling } from '../lib/servers.js'
import { ratio, round } from '../lib/stats.js'
import { cpuUsage, sampleCpu, type CpuUsage } from '../lib/cpu-usage.js'
import { requestsPerSecond, runWrk, type WrkResult, type WrkRun } from '../lib/wrk.js'

/**
 * Scenario 1: throughput and latency of the ticket list at 50 connections (wrk, 1 thread,
 * on the load CPU; the server under test on the server CPU), side by side in one run.
 * MISS sends every request to a URL of its own (`&_bench=<nonce>-<n>`, a parameter the API
 * ignores but the cache key includes), so each one is a full miss: lookup, stamp
 * acquisition, upstream fetch, admission and the compare-and-set write.
 */
export const TICKETS_PATH = '/api/v2/helpdesk/tickets/?limit=20'
const TENANT = 1
const USER = 1 // an agent: a full first page of 20 tickets

export interface ThroughputRow {
  readonly name: string
  readonly description: string
  readonly connections: number
  readonly rps: number
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number }
  readonly non2xx: number
  readonly socketErrors: number
  /** Proxy rows: X-Cache counts of the measured window, from the proxy's own metrics. */
  readonly xcache?: Record<string, number>
  /** CPU use of the server under test during the measured run (Linux /proc). */
  readonly cpu?: CpuUsage
}

export interface ThroughputResult {
  readonly path: string
  readonly payloadBytes: number
  readonly rows: ThroughputRow[]
  readonly ratios: Record<string, number | null>
  readonly nginx: string | undefined
  /** HIT and the Node ceiling in alternating short runs (ABBA per round), req/s. */
  readonly alternating?: { readonly secondsPerRun: number; readonly rounds: { readonly hit: number; readonly ceiling: number; readonly ratio: number }[]; readonly medianRatio: number }
}

export async function runThroughput(ctx: BenchContext): Promise<ThroughputResult> {
  const auth = `Bearer ${ctx.tokens.forUser(TENANT, USER)}`
  const base: Omit<WrkRun, 'label' | 'baseUrl'> = { path: TICKETS_PATH, authorization: auth, tenant: String(TENANT), connections: ctx.settings.connections, durationSec: ctx.settings.durationSec }
  const origin = await captureResponse(ctx.upstreamUrl, TICKETS_PATH, { authorization: auth })
  if (origin.status !== 200) throw new Error(`the ticket list answered ${origin.status}`)
  const rows: ThroughputRow[] = []
  rows.push(await measure(ctx, 'upstream-direct', 'the example API, no proxy', { ...base, baseUrl: ctx.upstreamUrl }))
  rows.push(await measure(ctx, 'upstream-direct-c1', 'the example API, 1 connection', { ...base, baseUrl: ctx.upstreamUrl, connections: 1 }))
  const hitCapture = await measureProxyPaths(ctx, base, rows)
  rows.push(...await measurePassThrough(ctx, base))
  rows.push(await measureCeiling(ctx, base, hitCapture))
  const version = nginxVersion()
  if (version !== undefined) rows.push(await measureNginx(ctx, base))
  else ctx.say('nginx is not installed: its row is left out (apt-get install nginx-light)')
  const alternating = await measureHitVsCeilingAlternating(ctx, base, hitCapture)
  const ratios = { ...computeRatios(rows), hitVsNodeCeilingAlternating: alternating.medianRatio }
  return { path: TICKETS_PATH, payloadBytes: bodyBytes(origin), rows, ratios, nginx: version, alternating }
}

/**
 * The HIT target's ratio again, robust to a machine whose speed drifts between rows: the
 * primed proxy and the ceiling run side by side (both on the server CPU, one loaded at a
 * time) and wrk alternates between them in short runs, ceiling-proxy-proxy-ceiling per
 * round, so a drift within a round weighs on both alike. The figure is the median of the
 * rounds' ratios.
 */
async function measureHitVsCeilingAlternating(ctx: BenchContext, base: Omit<WrkRun, 'label' | 'baseUrl'>, responseFile: string): Promise<NonNullable<ThroughputResult['alternating']>> {
  const proxy = await startBenchProxy(ctx, { label: 'alt', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  const ceiling = await startCeiling(ctx, { responseFile, anyQuery: false, label: 'alt-ceiling', cpus: ctx.settings.serverCpu })
  try {
    const headers = { authorization: base.authorization ?? '' }
    await captureResponse(proxy.url, TICKETS_PATH, headers)
    const seconds = Math.max(2, Math.round(ctx.settings.durationSec / 3))
    const rps = async (label: string, baseUrl: string) => requestsPerSecond(await runWrk(ctx, { ...base, label, baseUrl, durationSec: seconds }))
    await rps('alt-warmup-proxy', proxy.url)
    await rps('alt-warmup-ceiling', ceiling.url)
    const rounds: { hit: number; ceiling: number; ratio: number }[] = []
    for (let i = 0; i < ctx.settings.alternatingRounds; i++) {
      const c1 = await rps('alt-ceiling', ceiling.url)
      const h1 = await rps('alt-hit', proxy.url)
      const h2 = await rps('alt-hit', proxy.url)
      const c2 = await rps('alt-ceiling', ceiling.url)
      const hit = (h1 + h2) / 2
      const ceilingRps = (c1 + c2) / 2
      rounds.push({ hit: round(hit, 1), ceiling: round(ceilingRps, 1), ratio: round(hit / ceilingRps, 3) })
      ctx.say(`  throughput: alternating round ${i + 1}: HIT ${round(hit, 0)} / ceiling ${round(ceilingRps, 0)} req/s = ${round(hit / ceilingRps, 3)}`)
    }
    const sorted = rounds.map((r) => r.ratio).sort((a, b) => a - b)
    const mid = Math.floor(sorted.length / 2)
    const medianRatio = round(sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2, 3)
    return { secondsPerRun: seconds, rounds, medianRatio }
  } finally {
    await proxy.stop()
    await ceiling.process.stop()
  }
}

/** A discarded warm-up (JIT, connection pools, page cache), then the measured run; `pid`: the server, for its CPU use. */
async function measure(ctx: BenchContext, name: string, description: string, run: Omit<WrkRun, 'label'>, pid?: number): Promise<ThroughputRow> {
  ctx.say(`  throughput: ${name} (${run.connections} connections, ${run.durationSec}s)`)
  await runWrk(ctx, { ...run, label: `${name}-warmup`, durationSec: ctx.settings.warmupSec })
  const before = pid === undefined ? undefined : sampleCpu(pid, ctx.settings.serverCpu)
  const result = await runWrk(ctx, { ...run, label: name })
  const after = pid === undefined ? undefined : sampleCpu(pid, ctx.settings.serverCpu)
  const cpu = cpuUsage(before, after, result.durationUs / 1e6, result.requests)
  return { ...toRow(name, description, run.connections, result), ...(cpu ? { cpu } : {}) }
}

function toRow(name: string, description: string, connections: number, result: WrkResult): ThroughputRow {
  const ms = (us: number): number => round(us / 1000, 3)
  const { latencyUs: l, errors: e } = result
  return {
    name, description, connections, rps: round(requestsPerSecond(result), 1),
    latencyMs: { p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99), max: ms(l.max) },
    non2xx: e.status, socketErrors: e.connect + e.read + e.write + e.timeout,
  }
}

/** MISS and HIT on one proxy process; returns the HIT response captured for the Node ceiling. */
async function measureProxyPaths(ctx: BenchContext, base: Omit<WrkRun, 'label' | 'baseUrl'>, rows: ThroughputRow[]): Promise<string> {
  const proxy = await startBenchProxy(ctx, { label: 'tp', upstreamUrl: ctx.upstreamUrl, routes: 'contract' })
  try {
    const pid = proxy.process.pid
    rows.push(await withXCache(proxy, () => measure(ctx, 'proxy-miss', 'every request a new URL: full miss + store', { ...base, baseUrl: proxy.url, uniqueUrls: true }, pid)))
    rows.push(await withXCache(proxy, () => measure(ctx, 'proxy-miss-c1', 'full miss, 1 connection', { ...base, baseUrl: proxy.url, uniqueUrls: true, connections: 1 }, pid)))
    const headers = { authorization: base.authorization ?? '' }
    await captureResponse(proxy.url, TICKETS_PATH, headers) // the MISS that stores the entry
    const hit = await captureResponse(proxy.url, TICKETS_PATH, headers)
    if (!hit.headers.some(([n, v]) => n === 'x-cache' && v === 'HIT')) throw new Error('the proxy did not answer the primed ticket list with a HIT')
    rows.push(await withXCache(proxy, () => measure(ctx, 'proxy-hit', 'HIT (L1 copy; from Redis when L1 has none)', { ...base, baseUrl: proxy.url }, pid)))
    rows.push(await withXCache(proxy, () => measure(ctx, 'proxy-hit-gzip', 'HIT, client accepts gzip (stored form sent; other bytes)', { ...base, baseUrl: proxy.url, gzip: true }, pid)))
    return writeCapture(join(ctx.tmpDir, 'hit-response.json'), hit)
  } finally {
    await proxy.stop()
  }
}

/** Attaches the X-Cache counts of the tickets route that the proxy itself recorded during `run`. */
async function withXCache(proxy: BenchProxy, run: () => Promise<ThroughputRow>): Promise<ThroughputRow> {
  const before = groupMetric(await proxy.metrics(), 'ccp_requests_total', ['cache', 'reason'], { route: 'tickets' })
  const row = await run()
  const after = groupMetric(await proxy.metrics(), 'ccp_requests_total', ['cache', 'reason'], { route: 'tickets' })
  return { ...row, xcache: deltaGroups(after, before) }
}

async function measurePassThrough(ctx: BenchContext, base: Omit<WrkRun, 'label' | 'baseUrl'>): Promise<ThroughputRow[]> {
  const proxy = await startBenchProxy(ctx, { label: 'pass', upstreamUrl: ctx.upstreamUrl, routes: 'pass-through' })
  try {
    return [
      await measure(ctx, 'proxy-pass-through', 'route not configured: forwarded untouched', { ...base, baseUrl: proxy.url }, proxy.process.pid),
      await measure(ctx, 'proxy-pass-through-c1', 'forwarded untouched, 1 connection', { ...base, baseUrl: proxy.url, connections: 1 }, proxy.process.pid),
    ]
  } finally {
    await proxy.stop()
  }
}

async function measureCeiling(ctx: BenchContext, base: Omit<WrkRun, 'label' | 'baseUrl'>, responseFile: string): Promise<ThroughputRow> {
  const ceiling = await startCeiling(ctx, { responseFile, anyQuery: false, label: 'node-ceiling', cpus: ctx.settings.serverCpu })
  try {
    return await measure(ctx, 'node-ceiling', 'node:http answering the HIT bytes from a Map', { ...base, baseUrl: ceiling.url }, ceiling.process.pid)
  } finally {
    await ceiling.process.stop()
  }
}

async function measureNginx(ctx: BenchContext, base: Omit<WrkRun, 'label' | 'baseUrl'>): Promise<ThroughputRow> {
  const nginx = await startNginx(ctx, ctx.upstreamUrl)
  try {
    const headers = { authorization: base.authorization ?? '', 'x-tenant-id': base.tenant ?? '' }
    await captureResponse(nginx.url, TICKETS_PATH, headers)
    const probe = await captureResponse(nginx.url, TICKETS_PATH, headers)
    if (!probe.headers.some(([n, v]) => n === 'x-cache' && v === 'HIT')) throw new Error('nginx did not answer the primed ticket list with a HIT')
    return await measure(ctx, 'nginx-hit', 'nginx proxy_cache HIT, 1 worker', { ...base, baseUrl: nginx.url }, nginx.process.pid)
  } finally {
    await nginx.process.stop()
  }
}

function computeRatios(rows: readonly ThroughputRow[]): Record<string, number | null> {
  const by = (name: string) => rows.find((r) => r.name === name)
  const rps = (name: string) => by(name)?.rps
  const p50 = (name: string) => by(name)?.latencyMs.p50
  const diff = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : round(a - b, 3))
  return {
    hitVsNodeCeiling: ratio(rps('proxy-hit'), rps('node-ceiling')),
    /** CPU time per request, ceiling / proxy HIT: the throughput ratio both would reach with the CPU to themselves. */
    hitVsNodeCeilingByCpuPerRequest: ratio(by('node-ceiling')?.cpu?.serverUsPerRequest, by('proxy-hit')?.cpu?.serverUsPerRequest),
    hitVsNginxByCpuPerRequest: ratio(by('nginx-hit')?.cpu?.serverUsPerRequest, by('proxy-hit')?.cpu?.serverUsPerRequest),
    hitVsNginx: ratio(rps('proxy-hit'), rps('nginx-hit')),
    nodeCeilingVsNginx: ratio(rps('node-ceiling'), rps('nginx-hit')),
    hitVsUpstream: ratio(rps('proxy-hit'), rps('upstream-direct')),
    missVsUpstream: ratio(rps('proxy-miss'), rps('upstream-direct')),
    passThroughVsUpstream: ratio(rps('proxy-pass-through'), rps('upstream-direct')),
    missAddedP50MsAt1Connection: diff(p50('proxy-miss-c1'), p50('upstream-direct-c1')),
    passThroughAddedP50MsAt1Connection: diff(p50('proxy-pass-through-c1'), p50('upstream-direct-c1')),
    missAddedP50MsAt50Connections: diff(p50('proxy-miss'), p50('upstream-direct')),
  }
}
