import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** All Prometheus metrics of one proxy process, on a registry of its own (no global state). */
export function makeMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ccp_' })
  const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
  return {
    registry,
    requests: new Counter({ name: 'ccp_requests_total', help: 'Requests on configured routes by route, X-Cache and reason', labelNames: ['route', 'cache', 'reason'], registers: [registry] }),
    latency: new Histogram({ name: 'ccp_request_duration_seconds', help: 'Time to response headers on configured routes by X-Cache', labelNames: ['route', 'cache'], buckets: seconds, registers: [registry] }),
    upstreamLatency: new Histogram({ name: 'ccp_upstream_duration_seconds', help: 'Time from the request to the upstream response headers, on configured routes', labelNames: ['route'], buckets: seconds, registers: [registry] }),
    upstreamFetches: new Counter({ name: 'ccp_upstream_fetches_total', help: 'Requests on configured routes sent to the upstream', labelNames: ['route'], registers: [registry] }),
    upstreamErrors: new Counter({ name: 'ccp_upstream_errors_total', help: 'Upstream failures answered with 502/504', labelNames: ['code'], registers: [registry] }),
    coalesced: new Counter({ name: 'ccp_coalesced_waits_total', help: 'Misses that waited for another request of the same key, by outcome (stored, pass, timeout, remote-hit, remote-miss)', labelNames: ['route', 'outcome'], registers: [registry] }),
    backgroundRefreshes: new Counter({ name: 'ccp_background_refreshes_total', help: 'Stale-while-revalidate refreshes by outcome', labelNames: ['route', 'outcome'], registers: [registry] }),
    stores: new Counter({ name: 'ccp_entries_stored_total', help: 'Store attempts by outcome (stored, refused-race, too-large, incomplete, error)', labelNames: ['route', 'outcome'], registers: [registry] }),
    storeErrors: new Counter({ name: 'ccp_store_errors_total', help: 'Store operations that failed or timed out', labelNames: ['op'], registers: [registry] }),
    invalidations: new Counter({ name: 'ccp_invalidations_total', help: 'Row changes applied, by table', labelNames: ['table'], registers: [registry] }),
    tagsPurged: new Counter({ name: 'ccp_tags_purged_total', help: 'Tag stamps deleted by invalidations and purges', registers: [registry] }),
    commitToPurge: new Histogram({ name: 'ccp_commit_to_purge_seconds', help: 'From Postgres commit to confirmed purge', buckets: seconds, registers: [registry] }),
    watermarkAge: new Gauge({ name: 'ccp_watermark_age_seconds', help: 'Age of the newest applied replication heartbeat', registers: [registry] }),
    replicationState: new Gauge({ name: 'ccp_replication_state', help: '1 for the current state (leader, standby, disconnected)', labelNames: ['state'], registers: [registry] }),
    lastAppliedLsn: new Gauge({ name: 'ccp_last_applied_lsn', help: 'Last applied commit LSN as a number', registers: [registry] }),
    configReloads: new Counter({ name: 'ccp_config_reloads_total', help: 'Config reloads by result', labelNames: ['result'], registers: [registry] }),
  }
}

export type Metrics = ReturnType<typeof makeMetrics>
