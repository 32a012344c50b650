import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { systemClock, type Clock } from './clock.js'
import { loadConfigFile, type ConfigResult } from './config/load-config.js'
import { configError, describeProblems } from './config/describe-problems.js'
import { makeActiveConfig, makeConfigHolder, type ConfigHolder } from './config/active-config.js'
import type { CompiledConfig } from './config/types.js'
import { watchConfigFile } from './config/watch-config.js'
import { planReload } from './config/plan-reload.js'
import { redactUrl } from './config/compile-config.js'
import { makeLogger } from './logger.js'
import { initialiseKnownSeries, makeMetrics, type ConfigReloadResult, type Metrics } from './metrics.js'
import { buildProxyApp } from './proxy/build-proxy-app.js'
import { makeStore } from './store/make-store.js'
import type { CacheStore } from './store/store.js'
import { buildAdminApp } from './admin/build-admin-app.js'
import { makeRecentInvalidations, type RecentInvalidations } from './admin/stats.js'
import { ReplicationListener } from './invalidation/replication-listener.js'

export interface StartOptions {
  readonly configFile: string
  readonly env?: NodeJS.ProcessEnv
  readonly clock?: Clock
  readonly log?: Logger
  /** Reload on file change (default true). SIGHUP is wired by the CLI. */
  readonly watch?: boolean
  /** Answer L1 hits before Fastify's routing (default true). Tests turn it off to compare both paths. */
  readonly fastPath?: boolean
}

export interface RunningProxy {
  readonly app: FastifyInstance
  readonly url: string
  /** The admin server's URL, when `admin` is configured. */
  readonly adminUrl: string | undefined
  readonly holder: ConfigHolder
  readonly store: CacheStore
  readonly metrics: Metrics
  readonly log: Logger
  readonly listener: ReplicationListener | undefined
  /** Reads the file again: the config now running (wired parts kept, config/plan-reload.ts), or the file's problems. */
  reload(): Promise<ConfigResult>
  close(): Promise<void>
}

/** The composition root: config -> logger, store, metrics -> proxy app -> listen. */
export async function startProxy(options: StartOptions): Promise<RunningProxy> {
  const env = options.env ?? process.env
  const loaded = await loadConfigFile(options.configFile, env)
  if (!loaded.ok) throw configError(loaded)
  const config = loaded.config
  const log = options.log ?? makeLogger(config.logLevel)
  const clock = options.clock ?? systemClock
  const store = makeStore(config, clock, log)
  const metrics = makeMetrics()
  initialiseKnownSeries(metrics, config)
  const holder = makeConfigHolder(makeActiveConfig(config))
  const app = await buildProxyApp({ holder, store, clock, metrics, log, ...(options.fastPath === false ? { fastPath: false } : {}) })
  const url = await app.listen({ host: config.listen.host, port: config.listen.port })
  logStartup(log, config, url)
  const recent = makeRecentInvalidations()
  const listener = config.invalidation ? startListener({ config, store, clock, log, metrics, recent }) : undefined

  async function reload(): Promise<ConfigResult> {
    const next = await loadConfigFile(options.configFile, env).catch((err: unknown): ConfigResult =>
      ({ ok: false, source: options.configFile, problems: [{ path: [], message: `could not load: ${(err as Error).message}` }] }))
    const plan = next.ok ? planReload(holder.current().config, next.config) : next
    if (!plan.ok) {
      metrics.configReloads.inc({ result: 'rejected' satisfies ConfigReloadResult })
      log.error({ problems: describeProblems(plan), code: 'CCP_CONFIG_INVALID' }, 'config reload rejected; the running config stays')
      return plan
    }
    holder.swap(makeActiveConfig(plan.config, plan.pendingRestart))
    if (plan.config.invalidation) listener?.setRules(plan.config.invalidation.tables)
    metrics.configReloads.inc({ result: 'applied' satisfies ConfigReloadResult })
    initialiseKnownSeries(metrics, plan.config)
    if (plan.pendingRestart.length > 0) log.warn({ pendingRestart: plan.pendingRestart }, 'these config changes take effect only after a restart; the running values stay')
    log.info({ routes: plan.config.routes.map((r) => r.name) }, 'config reloaded')
    return { ok: true, config: plan.config }
  }

  const stopWatching = options.watch === false ? () => {} : watchConfigFile(options.configFile, () => void reload())
  const admin = config.admin
    ? await buildAdminApp({ token: config.admin.token, holder, store, metrics, clock, log, replication: listener && (() => listener.status()), reload, env, recent })
    : undefined
  const adminUrl = admin && config.admin ? await admin.listen({ host: config.admin.host, port: config.admin.port }) : undefined
  if (adminUrl) log.info({ adminUrl }, 'admin server listening')

  async function close(): Promise<void> {
    stopWatching()
    // The slot is released at once so a standby takes over while in-flight requests drain.
    await Promise.all([app.close(), listener?.stop()])
    await admin?.close()
    await store.close()
  }

  return { app, url, adminUrl, holder, store, metrics, log, listener, reload, close }
}

function logStartup(log: Logger, config: CompiledConfig, url: string): void {
  const store = config.store.kind === 'redis' ? `redis ${redactUrl(config.store.url)}`
    : config.store.kind === 'redis-cluster' ? `redis cluster ${config.store.urls.map(redactUrl).join(',')}`
    : `in-process memory (max ${config.store.maxEntries} entries)`
  log.info({ url, upstream: config.upstream.origin, store, routes: config.routes.map((r) => r.name) }, 'cdc-cache-proxy listening')
  if (!config.invalidation) log.warn('no invalidation section: cached entries are kept fresh by their TTLs only')
}

interface ListenerWiring {
  readonly config: CompiledConfig
  readonly store: CacheStore
  readonly clock: Clock
  readonly log: Logger
  readonly metrics: Metrics
  readonly recent: RecentInvalidations
}

/** Starts the replication listener and connects its events to metrics, logs and the dashboard. */
function startListener({ config, store, clock, log, metrics, recent }: ListenerWiring): ReplicationListener {
  const invalidation = config.invalidation as NonNullable<CompiledConfig['invalidation']>
  const listener = new ReplicationListener({ config: invalidation, store, clock, log })
  listener.on('state', (state) => {
    for (const s of ['leader', 'standby', 'disconnected']) metrics.replicationState.set({ state: s }, s === state ? 1 : 0)
  })
  listener.on('ruleColumns', (change) => {
    if (change.kind === 'missing') metrics.ruleColumnsMissing.set({ table: change.table.table }, change.table.missingColumns.length)
    else metrics.ruleColumnsMissing.set({ table: change.table }, 0)
  })
  listener.on('tableDrift', (change) => {
    if (change.kind !== 'ignored') metrics.watchedTablesDrifted.set({ table: change.drift.table, kind: change.drift.kind }, change.kind === 'found' ? 1 : 0)
  })
  listener.on('applied', (applied) => {
    metrics.lastAppliedLsn.set(lsnAsNumber(applied.lsn))
    if (applied.tables.length === 0) return // a heartbeat only
    for (const [table, rows] of applied.rowsByTable) metrics.invalidations.inc({ table }, rows)
    metrics.tagsPurged.inc(applied.tagCount)
    metrics.commitToPurge.observe(Math.max(0, applied.commitToPurgeMs) / 1000)
    recent.add({ at: clock.now(), lsn: applied.lsn, tables: applied.tables, tagCount: applied.tagCount, commitToPurgeMs: applied.commitToPurgeMs })
  })
  listener.start()
  return listener
}

/** A gauge holds a float64: exact up to 2^53, which an LSN reaches only after 8 PiB of WAL. */
function lsnAsNumber(lsn: string): number {
  const [high, low] = lsn.split('/')
  return parseInt(high ?? '0', 16) * 2 ** 32 + parseInt(low ?? '0', 16)
}
