import type { Metrics } from '../metrics.js'

export interface RecentInvalidation {
  readonly at: number
  readonly lsn: string
  readonly tables: readonly string[]
  readonly tagCount: number
  readonly commitToPurgeMs: number | null
}

/** A ring buffer of the last applied invalidations, for the dashboard. */
export function makeRecentInvalidations(size = 50) {
  const items: RecentInvalidation[] = []
  return {
    add(item: RecentInvalidation) {
      items.unshift(item)
      if (items.length > size) items.length = size
    },
    list: (): readonly RecentInvalidation[] => [...items],
  }
}

export type RecentInvalidations = ReturnType<typeof makeRecentInvalidations>

/** Cumulative counters for the dashboard; rates are computed by the page from two samples. */
export async function collectStats(metrics: Metrics) {
  const requests = await metrics.requests.get()
  const byRoute: Record<string, Record<string, number>> = {}
  for (const v of requests.values) {
    const route = String(v.labels.route)
    const cache = String(v.labels.cache)
    const entry = byRoute[route] ?? (byRoute[route] = {})
    entry[cache] = (entry[cache] ?? 0) + v.value
  }
  const sum = async (metric: { get(): Promise<{ values: { value: number }[] }> }) => (await metric.get()).values.reduce((s, v) => s + v.value, 0)
  const commit = await metrics.commitToPurge.get()
  const commitSum = commit.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0
  const commitCount = commit.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0
  return {
    byRoute,
    upstreamFetches: await sum(metrics.upstreamFetches),
    invalidations: await sum(metrics.invalidations),
    tagsPurged: await sum(metrics.tagsPurged),
    commitToPurgeAvgMs: commitCount > 0 ? (commitSum / commitCount) * 1000 : null,
  }
}
