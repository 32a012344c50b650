import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { CompiledConfig } from './config/types.js'
import type { FlightOutcome } from './proxy/coalescer.js'
import type { UpstreamFailure } from './proxy/upstream-errors.js'

/** Buckets of the latency histograms, in seconds. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** All Prometheus metrics of one proxy process, on a registry of its own (no global state). */
export function makeMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ccp_' })
  const seconds = LATENCY_BUCKETS
  return {
    registry,
    requests: new Counter({ name: 'ccp_requests_total', help: 'Requests on configured routes by route, X-Cache and reason', labelNames: ['route', 'cache', 'reason'], registers: [registry] }),
    latency: new Histogram({ name: 'ccp_request_duration_seconds', help: 'Time to response headers on configured routes by X-Cache', labelNames: ['route', 'cache'], buckets: [...seconds], registers: [registry] }),
    upstreamLatency: new Histogram({ name: 'ccp_upstream_duration_seconds', help: 'Time from the request to the upstream response headers, on configured routes', labelNames: ['route'], buckets: [...seconds], registers: [registry] }),
    upstreamFetches: new Counter({ name: 'ccp_upstream_fetches_total', help: 'Requests on configured routes sent to the upstream', labelNames: ['route'], registers: [registry] }),
    upstreamErrors: new Counter({ name: 'ccp_upstream_errors_total', help: 'Upstream failures answered with 502/504', labelNames: ['code'], registers: [registry] }),
    coalesced: new Counter({ name: 'ccp_coalesced_waits_total', help: 'Misses that waited for another request of the same key, by outcome (stored, pass, timeout, remote-hit, remote-miss)', labelNames: ['route', 'outcome'], registers: [registry] }),
    backgroundRefreshes: new Counter({ name: 'ccp_background_refreshes_total', help: 'Stale-while-revalidate refreshes by outcome', labelNames: ['route', 'outcome'], registers: [registry] }),
    stores: new Counter({ name: 'ccp_entries_stored_total', help: 'Store attempts by outcome (stored, refused-race, too-large, incomplete, error)', labelNames: ['route', 'outcome'], registers: [registry] }),
    storeErrors: new Counter({ name: 'ccp_store_errors_total', help: 'Store operations that failed or timed out', labelNames: ['op'], registers: [registry] }),
    invalidations: new Counter({ name: 'ccp_invalidations_total', help: 'Row changes applied, by table', labelNames: ['table'], registers: [registry] }),
    tagsPurged: new Counter({ name: 'ccp_tags_purged_total', help: 'Tag stamps deleted by invalidations and purges', registers: [registry] }),
    commitToPurge: new Histogram({ name: 'ccp_commit_to_purge_seconds', help: 'From Postgres commit to confirmed purge', buckets: [...seconds], registers: [registry] }),
    watermarkAge: new Gauge({ name: 'ccp_watermark_age_seconds', help: 'Age of the newest applied replication heartbeat', registers: [registry] }),
    replicationState: new Gauge({ name: 'ccp_replication_state', help: '1 for the current state (leader, standby, disconnected)', labelNames: ['state'], registers: [registry] }),
    ruleColumnsMissing: new Gauge({ name: 'ccp_rule_columns_missing', help: 'Columns a table\'s invalidation rules name that the table lacks (renamed, dropped, misspelt); above 0, every change of the table invalidates widened tags', labelNames: ['table'], registers: [registry] }),
    watchedTablesDrifted: new Gauge({ name: 'ccp_watched_tables_drifted', help: 'Watched tables whose name no longer matches the config, by kind: renamed (its rules follow it until a restart), missing (its rules invalidate nothing), unknown (a published table no rule names: each change purges every entry); 1 while it lasts', labelNames: ['table', 'kind'], registers: [registry] }),
    lastAppliedLsn: new Gauge({ name: 'ccp_last_applied_lsn', help: 'Last applied commit LSN as a number', registers: [registry] }),
    configReloads: new Counter({ name: 'ccp_config_reloads_total', help: 'Config reloads by result', labelNames: ['result'], registers: [registry] }),
  }
}

export type Metrics = ReturnType<typeof makeMetrics>

/** The label values of the counters whose series are known before their first event. */
export type StoreOp = 'read' | 'acquireStamps' | 'write' | 'endFill' | 'tryLock' | 'deleteEntry'
export type CoalescedOutcome = FlightOutcome['kind'] | 'timeout' | 'remote-hit' | 'remote-miss'
export type StoreOutcome = 'stored' | 'refused-race' | 'too-large' | 'incomplete' | 'error'
export type ConfigReloadResult = 'applied' | 'rejected'

// Records, so that the type checker finds a value added to a union and not here.
const STORE_OPS = labelValues<StoreOp>({ read: true, acquireStamps: true, write: true, endFill: true, tryLock: true, deleteEntry: true })
const COALESCED_OUTCOMES = labelValues<CoalescedOutcome>({ stored: true, pass: true, timeout: true, 'remote-hit': true, 'remote-miss': true })
const STORE_OUTCOMES = labelValues<StoreOutcome>({ stored: true, 'refused-race': true, 'too-large': true, incomplete: true, error: true })
const REFRESH_OUTCOMES = labelValues<FlightOutcome['kind']>({ stored: true, pass: true })
const UPSTREAM_ERROR_CODES = labelValues<UpstreamFailure['code']>({ CCP_UPSTREAM_UNREACHABLE: true, CCP_UPSTREAM_TIMEOUT: true })
const CONFIG_RELOAD_RESULTS = labelValues<ConfigReloadResult>({ applied: true, rejected: true })

function labelValues<T extends string>(values: Record<T, true>): readonly T[] {
  return Object.keys(values) as T[]
}

/**
 * Creates at zero the series of labelled counters whose label values are known before their
 * first event: a series absent until then makes rate() and increase() miss that event
 * (https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics). Per route
 * and per table from `config`; called at start and after each reload (a series already there
 * keeps its value). ccp_requests_total and the histograms are left to their first event: their
 * label sets (route x cache x reason, 15 series per histogram child) would be mostly series
 * that never move.
 */
export function initialiseKnownSeries(metrics: Metrics, config: CompiledConfig): void {
  for (const result of CONFIG_RELOAD_RESULTS) metrics.configReloads.inc({ result }, 0)
  for (const op of STORE_OPS) metrics.storeErrors.inc({ op }, 0)
  for (const code of UPSTREAM_ERROR_CODES) metrics.upstreamErrors.inc({ code }, 0)
  for (const route of config.routes) {
    metrics.upstreamFetches.inc({ route: route.name }, 0)
    for (const outcome of STORE_OUTCOMES) metrics.stores.inc({ route: route.name, outcome }, 0)
    if (route.coalesceWaitMs > 0) for (const outcome of COALESCED_OUTCOMES) metrics.coalesced.inc({ route: route.name, outcome }, 0)
    if (route.staleWhileRevalidateMs > 0) for (const outcome of REFRESH_OUTCOMES) metrics.backgroundRefreshes.inc({ route: route.name, outcome }, 0)
  }
  // The listener labels rows by `schema.table` (invalidation/row-change.ts, relationKey).
  for (const rule of config.invalidation?.tables ?? []) metrics.invalidations.inc({ table: `${rule.schema}.${rule.table}` }, 0)
}

/** A counter child for one fixed label set, for a hot path: `inc()` is an addition. */
export interface BoundCounter { inc(): void }
/** A histogram child for one fixed label set, for a hot path: `observe()` is a bucket search. */
export interface BoundHistogram { observe(value: number): void }

interface SeriesRef<S> { readonly map: Record<string, unknown>; readonly hash: string; readonly series: S }
interface CounterSeries { value: number }
interface HistogramSeries { bucketValues: Record<string, number>; sum: number; count: number }

/**
 * prom-client's `inc(labels)` and `observe(labels, v)` hash the label object on every call
 * (its `labels()` children too): about 0.6 µs per hit for both. A bound child adds to the
 * series object prom-client keeps for those labels instead. prom-client creates that series
 * itself on the first call, so /metrics shows exactly what unbound calls would show. Each call
 * checks that the series is still the one in prom-client's map (a reset or remove replaces
 * it); if it is not, or prom-client's internals are not what this expects, the call goes
 * through the public API.
 */
export function bindCounter(counter: Counter<string>, labels: Record<string, string>): BoundCounter {
  let ref: SeriesRef<CounterSeries> | undefined
  return {
    inc() {
      if (ref !== undefined && internalMap(counter) === ref.map && ref.map[ref.hash] === ref.series) {
        ref.series.value += 1
        return
      }
      counter.inc(labels)
      ref = findSeries(counter, labels, (s): s is CounterSeries => typeof (s as CounterSeries).value === 'number')
    },
  }
}

export function bindHistogram(histogram: Histogram<string>, labels: Record<string, string>, buckets: readonly number[]): BoundHistogram {
  let ref: SeriesRef<HistogramSeries> | undefined
  // prom-client keys bucketValues by the bound's string form; converting a fraction to a string per call would cost more than the rest.
  const keys = buckets.map(String)
  return {
    observe(value: number) {
      if (ref !== undefined && Number.isFinite(value) && internalMap(histogram) === ref.map && ref.map[ref.hash] === ref.series) {
        const series = ref.series
        series.sum += value
        series.count += 1
        // As prom-client: the first bucket whose upper bound is >= value; above the last, count and sum only.
        for (let i = 0; i < buckets.length; i++) {
          if (value <= (buckets[i] as number)) {
            const key = keys[i] as string
            series.bucketValues[key] = (series.bucketValues[key] ?? 0) + 1
            break
          }
        }
        return
      }
      histogram.observe(labels, value)
      ref = findSeries(histogram, labels, (s): s is HistogramSeries => {
        const h = s as HistogramSeries
        return typeof h.sum === 'number' && typeof h.count === 'number' && typeof h.bucketValues === 'object' && keys.every((k) => typeof h.bucketValues[k] === 'number')
      })
    },
  }
}

function internalMap(metric: object): Record<string, unknown> | undefined {
  const map = (metric as { hashMap?: unknown }).hashMap
  return typeof map === 'object' && map !== null ? map as Record<string, unknown> : undefined
}

function findSeries<S>(metric: object, labels: Record<string, string>, isSeries: (s: unknown) => s is S): SeriesRef<S> | undefined {
  const map = internalMap(metric)
  if (!map) return undefined
  const names = Object.keys(labels)
  for (const [hash, series] of Object.entries(map)) {
    const seriesLabels = (series as { labels?: Record<string, unknown> } | undefined)?.labels
    if (!seriesLabels || Object.keys(seriesLabels).length !== names.length || !names.every((n) => seriesLabels[n] === labels[n])) continue
    return isSeries(series) ? { map, hash, series } : undefined
  }
  return undefined
}
