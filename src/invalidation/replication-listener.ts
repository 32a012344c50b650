import { EventEmitter } from 'node:events'
import pg from 'pg'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { InvalidationConfig, TableRule } from '../config/types.js'
import { ProxyError } from '../errors.js'
import type { CacheStore } from '../store/store.js'
import { EVERYTHING_TAG } from '../tags/tag-template.js'
import { abortableSleep } from './abortable-sleep.js'
import { jitter, makeBackoff, type Backoff } from './backoff.js'
import { compileTableRules, type CompiledTableRules } from './determine-tags.js'
import { makeHeartbeatEmitter, type HeartbeatEmitter } from './heartbeat.js'
import { makeListenerStatus, type ListenerState, type ListenerStatus, type ListenerStatusRecorder } from './listener-status.js'
import { ensureSlot, readConfirmedFlush, terminateStaleWalsender } from './replication-slot.js'
import { startReplicationSession, type AppliedTransaction, type ReplicationSession, type SessionOutcome } from './replication-session.js'
import { relationKey, type RelationName } from './row-change.js'
import { makeRuleColumnDrift, type ColumnsSource, type DriftChange } from './rule-column-drift.js'
import { describeMissingRuleColumns } from './rule-columns.js'
import { setupReplication, type SetupReport } from './setup-replication.js'
import { describeTableDrift, makeTableDrift, type TableDriftChange } from './table-drift.js'
import { identifyRelation, withRenamedTables, type WatchedTableIdentities } from './table-identity.js'

export type { AppliedTransaction } from './replication-session.js'
export type { ListenerState, ListenerStatus } from './listener-status.js'
export type { DriftChange, DriftedTable } from './rule-column-drift.js'
export type { TableDrift, TableDriftChange } from './table-drift.js'

/**
 * The invalidation leader loop. Every proxy replica runs one; the slot admits a single
 * consumer, so exactly one is `leader` (streams, purges, acknowledges, writes heartbeats)
 * and the others are `standby`, asking again about every second and taking over when the
 * leader's connection goes away. Any failure ends the connection attempt and a new one
 * starts after a capped, jittered backoff, resuming at the slot's confirmed position:
 * nothing is acknowledged before its purge is confirmed, so nothing is lost, and a commit
 * replayed after a fault is purged twice, which is harmless.
 */
export interface ReplicationListenerOptions {
  readonly config: InvalidationConfig
  readonly store: CacheStore
  readonly clock: Clock
  readonly log: Logger
  /** Reconnect when nothing (data, keepalive, purge progress) arrived for this long. Default max(10 s, 5 heartbeats). */
  readonly watchdogMs?: number
  /** How often a standby asks for the slot. Default 1000 ms (jittered). */
  readonly standbyRetryMs?: number
  readonly reconnectBackoff?: { readonly baseMs: number; readonly maxMs: number }
  /** Purge attempts within one connection before it is dropped and the commit replayed. Default 5. */
  readonly purgeAttempts?: number
  readonly purgeRetryMs?: number
  /** Bound on each query of the normal (non-replication) connection. Default 30 s. */
  readonly queryTimeoutMs?: number
  readonly random?: () => number
}

export interface ListenerEvents {
  state: [state: ListenerState, previous: ListenerState]
  applied: [applied: AppliedTransaction]
  /** A table's rules started or stopped naming columns the table lacks. */
  ruleColumns: [change: DriftChange]
  /** A watched table was found renamed or missing, or an unknown table published; or no longer. */
  tableDrift: [change: TableDriftChange]
}

/** The stream's last description of a table, to identify it again when the rules change. */
interface DescribedRelation {
  readonly relation: RelationName
  readonly oid: number
}

export class ReplicationListener extends EventEmitter<ListenerEvents> {
  readonly #options: ReplicationListenerOptions
  readonly #config: InvalidationConfig
  readonly #log: Logger
  readonly #pool: pg.Pool
  readonly #heartbeat: HeartbeatEmitter
  readonly #backoff: Backoff
  readonly #status: ListenerStatusRecorder
  readonly #abort = new AbortController()
  readonly #ruleColumns = makeRuleColumnDrift()
  readonly #tableDrift = makeTableDrift()
  /** By the stream's current name: the configured name of a table renamed while we ran. */
  readonly #renamed = new Map<string, RelationName>()
  /** By the stream's current name: what a change of a table no rule applies to invalidates. */
  readonly #unnamedActions = new Map<string, 'purge-everything' | 'ignore'>()
  readonly #described = new Map<string, DescribedRelation>()
  #identities: WatchedTableIdentities = { oids: new Map(), missingTables: [], allTablesPublication: false }
  #missingRelations: readonly RelationName[] = []
  #rules: CompiledTableRules
  #session: ReplicationSession | undefined
  #loop: Promise<void> | undefined
  #stopped: Promise<void> | undefined
  #flushPending = false
  #abandonedWalsender: number | undefined

  constructor(options: ReplicationListenerOptions) {
    super()
    this.#options = options
    this.#config = options.config
    this.#log = options.log.child({ component: 'replication', slot: options.config.slot })
    this.#rules = compileTableRules(options.config.tables)
    // The same network fault that silences the stream can hang these queries: bound them.
    this.#pool = new pg.Pool({ connectionString: options.config.database, max: 2, query_timeout: options.queryTimeoutMs ?? 30_000, keepAlive: true })
    // An idle pooled connection killed by the server must not crash the process.
    this.#pool.on('error', (err) => this.#log.warn({ err }, 'idle postgres connection failed'))
    this.#heartbeat = makeHeartbeatEmitter({ sql: this.#pool, intervalMs: options.config.heartbeatIntervalMs, clock: options.clock, log: this.#log })
    this.#backoff = makeBackoff({ ...(options.reconnectBackoff ?? { baseMs: 200, maxMs: 10_000 }), random: options.random })
    this.#status = makeListenerStatus()
  }

  /** Starts the loop in the background; progress shows in `status()` and the events. */
  start(): void {
    this.#loop ??= this.#run()
  }

  /** Ends gracefully: stops heartbeats and closes the replication connection so the slot frees for a standby. */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutDown()
    return this.#stopped
  }

  async #shutDown(): Promise<void> {
    this.#abort.abort()
    this.#heartbeat.stop()
    await this.#session?.stop()
    await this.#loop
    // pool.end() waits for each connection to close; one on a dead path never does.
    await Promise.race([this.#pool.end().catch(() => undefined), abortableSleep(2000, new AbortController().signal)])
    this.#setState('disconnected')
  }

  status(): ListenerStatus {
    return this.#status.snapshot()
  }

  /**
   * Hot reload: later transactions use these rules. New tables still need `setup`
   * (publication). The new rules are checked against the columns already known.
   */
  setRules(tables: readonly TableRule[]): void {
    this.#rules = compileTableRules(tables)
    const changes = this.#ruleColumns.recheck(this.#rules, this.#options.clock.now())
    this.#status.recordRuleColumns(this.#ruleColumns.current())
    for (const change of changes) this.#reportRuleColumns(change)
    this.#recheckTables()
  }

  /** The rules as the stream names tables: renamed tables keep their configured rules. */
  get #streamRules(): CompiledTableRules {
    return withRenamedTables(this.#rules, this.#renamed)
  }

  get #stopping(): boolean {
    return this.#abort.signal.aborted
  }

  async #run(): Promise<void> {
    let check: 'all' | 'slot' | 'none' = 'all'
    while (!this.#stopping) {
      const ready = check === 'all' ? await this.#prepareAll() : check === 'slot' ? await this.#prepareSlot() : true
      if (!ready) { check = 'all'; await this.#sleep(this.#backoff.next()); continue }
      await this.#freeAbandonedSlot()
      const outcome = await this.#runSession()
      if (outcome.kind === 'stopped') break
      if (outcome.kind === 'failed') this.#abandonedWalsender = outcome.walsenderPid ?? this.#abandonedWalsender
      // A standby only retries; after a failure the slot may have been dropped or lost meanwhile.
      check = outcome.kind === 'failed' ? 'slot' : 'none'
      await this.#sleep(this.#handleOutcome(outcome))
    }
  }

  /** Returns how long to wait before the next attempt. */
  #handleOutcome(outcome: Exclude<SessionOutcome, { kind: 'stopped' }>): number {
    if (outcome.kind === 'standby') {
      this.#setState('standby')
      return jitter(this.#options.standbyRetryMs ?? 1000, this.#options.random)
    }
    this.#setState('disconnected')
    this.#status.recordError(outcome.error)
    const delay = this.#backoff.next()
    this.#log.warn({ err: outcome.error, code: outcome.error.code, retryInMs: delay }, 'replication connection ended')
    return delay
  }

  /**
   * The walsender of a connection we abandoned keeps the slot until the server notices
   * (wal_sender_timeout). It is ended on a fresh connection (pooled ones may sit on the
   * same dead path), retried before every attempt until it is gone.
   */
  async #freeAbandonedSlot(): Promise<void> {
    const pid = this.#abandonedWalsender
    if (pid === undefined) return
    const client = new pg.Client({ connectionString: this.#config.database, connectionTimeoutMillis: 5000, query_timeout: 5000 })
    client.on('error', () => {}) // a failure here is reported by connect/query below
    try {
      await client.connect()
      if (await terminateStaleWalsender(client, this.#config.slot, pid)) this.#log.info({ walsenderPid: pid }, 'ended the walsender of the abandoned connection')
      this.#abandonedWalsender = undefined
    } catch (err) {
      this.#log.warn({ err, walsenderPid: pid }, 'could not end the walsender of the abandoned connection yet')
    } finally {
      await client.end().catch(() => {})
    }
  }

  /** First attempt: the full setup (publication, slot, checks), then the slot check on every reconnect. */
  async #prepareAll(): Promise<boolean> {
    try {
      const report = await setupReplication({ sql: this.#pool, slot: this.#config.slot, publication: this.#config.publication, tables: this.#config.tables, recreateLostSlot: true })
      for (const warning of report.warnings) this.#log.warn(warning)
      this.#learnIdentities(report)
      for (const table of report.tables) this.#learnColumns(table.relation, table.columns, 'catalog')
      if (report.continuityBroken) this.#flushPending = true
      return await this.#flushIfPending(report.slot.status)
    } catch (err) {
      return this.#prepareFailed(err)
    }
  }

  /** Recreating a dropped or lost slot breaks continuity: flush before streaming. */
  async #prepareSlot(): Promise<boolean> {
    try {
      const slot = await ensureSlot(this.#pool, this.#config.slot, true)
      if (slot.status !== 'existing') this.#flushPending = true
      return await this.#flushIfPending(slot.status)
    } catch (err) {
      return this.#prepareFailed(err)
    }
  }

  #prepareFailed(err: unknown): false {
    this.#setState('disconnected')
    this.#status.recordError(err)
    this.#log.error({ err, code: (err as ProxyError).code ?? 'CCP_REPLICATION_SETUP' }, 'replication setup failed, retrying')
    return false
  }

  /**
   * A new slot starts at "now": whatever changed before it is gone from the stream. Every
   * entry cached before is invalid, so the everything tag goes before any streaming; the
   * flag stays set until the flush succeeds.
   */
  async #flushIfPending(slotStatus: string): Promise<boolean> {
    if (!this.#flushPending) return true
    const previousWatermark = await this.#options.store.readWatermark().catch(() => null)
    await this.#options.store.invalidateTags([EVERYTHING_TAG])
    this.#flushPending = false
    const level = previousWatermark === null ? 'info' : 'warn'
    this.#log[level]({ slotStatus, previousWatermark }, 'replication continuity broken (slot new or recreated): flushed every cached entry')
    return true
  }

  async #runSession(): Promise<SessionOutcome> {
    const session = startReplicationSession({
      connectionString: this.#config.database,
      slot: this.#config.slot,
      publication: this.#config.publication,
      rules: () => this.#streamRules,
      // A table first seen without a Relation message cannot be: the safe side all the same.
      unknownTableAction: (relation) => this.#unnamedActions.get(relationKey(relation)) ?? 'purge-everything',
      maxRowsPerTable: this.#config.maxRowsPerTable,
      store: this.#options.store,
      clock: this.#options.clock,
      log: this.#log,
      watchdogMs: this.#options.watchdogMs ?? Math.max(10_000, 5 * this.#config.heartbeatIntervalMs),
      purgeAttempts: this.#options.purgeAttempts ?? 5,
      purgeRetryMs: this.#options.purgeRetryMs ?? 100,
      readConfirmedFlush: () => readConfirmedFlush(this.#pool, this.#config.slot),
      onLeader: () => this.#becomeLeader(),
      onApplied: (applied) => this.#recordApplied(applied),
      onRelation: (relation, oid, columns) => {
        this.#learnRelation({ relation, oid })
        this.#learnColumns(relation, columns, 'stream')
      },
    })
    this.#session = session
    if (this.#stopping) await session.stop() // stop() raced with the start of this attempt
    const outcome = await session.done
    this.#heartbeat.stop()
    this.#session = undefined
    return outcome
  }

  #becomeLeader(): void {
    this.#setState('leader')
    this.#heartbeat.start()
  }

  #recordApplied(applied: AppliedTransaction): void {
    this.#backoff.reset()
    this.#status.recordApplied(applied)
    const fields = { lsn: applied.lsn, tables: applied.tables, tagCount: applied.tagCount, commitToPurgeMs: applied.commitToPurgeMs }
    // One line per commit would drown the log at thousands of commits/s: on-call reads the
    // metrics, /stats (the last invalidations) and the dashboard instead.
    if (applied.tables.length > 0) this.#log.debug({ ...fields, collapsedTables: applied.collapsedTables }, 'applied transaction')
    else this.#log.debug({ ...fields, heartbeatMs: applied.heartbeatMs }, 'applied heartbeat')
    this.emit('applied', applied)
  }

  /** At every full setup: the oids of the configured tables, which ones are missing, the kind of publication. */
  #learnIdentities(report: SetupReport): void {
    const present = new Set(report.tables.map((table) => relationKey(table.relation)))
    this.#missingRelations = this.#config.tables.filter((rule) => !present.has(relationKey(rule))).map(({ schema, table }) => ({ schema, table }))
    this.#identities = {
      oids: new Map(report.tables.map((table) => [table.oid, table.relation])),
      missingTables: this.#missingRelations.map(relationKey),
      allTablesPublication: report.publication.allTables,
    }
    this.#recheckTables()
  }

  /** Identifies a table from its Relation message before any of its changes is mapped to tags. */
  #learnRelation(described: DescribedRelation): void {
    const key = relationKey(described.relation)
    this.#described.set(key, described)
    const identity = identifyRelation(described.relation, described.oid, this.#identities, this.#rules)
    if (identity.kind === 'renamed') this.#renamed.set(key, identity.configured)
    else this.#renamed.delete(key)
    if (identity.kind === 'unnamed') this.#unnamedActions.set(key, identity.action)
    else this.#unnamedActions.delete(key)
    this.#reportTableDrift(this.#tableDrift.learnRelation(described.relation, described.oid, identity, this.#options.clock.now()))
  }

  /** Setup or a config reload: the missing tables (still named?) and every described table again. */
  #recheckTables(): void {
    const named = this.#missingRelations.filter((relation) => this.#rules.lookup(relation) !== undefined)
    this.#identities = { ...this.#identities, missingTables: named.map(relationKey) }
    this.#reportTableDrift(this.#tableDrift.learnMissing(this.#identities.missingTables, this.#options.clock.now()))
    for (const described of this.#described.values()) this.#learnRelation(described)
  }

  /** Once per finding, where on-call looks: the log, the status, the gauge (server.ts). */
  #reportTableDrift(changes: readonly TableDriftChange[]): void {
    this.#status.recordTableDrift(this.#tableDrift.current())
    for (const change of changes) {
      if (change.kind === 'found') this.#log.warn({ table: change.drift.table, drift: change.drift }, describeTableDrift(change.drift))
      else if (change.kind === 'resolved') this.#log.info({ table: change.drift.table, drift: change.drift.kind }, 'watched table drift resolved')
      else this.#log.warn({ table: change.table, reason: change.reason }, 'the publication sends changes of a table no rule names; they invalidate nothing')
      this.emit('tableDrift', change)
    }
  }

  #learnColumns(relation: RelationName, columns: readonly string[], source: ColumnsSource): void {
    const change = this.#ruleColumns.learn(relation, columns, source, this.#streamRules, this.#options.clock.now())
    this.#status.recordRuleColumns(this.#ruleColumns.current()) // the source may have changed, not the finding
    if (change !== undefined) this.#reportRuleColumns(change)
  }

  /** Once per finding: a renamed column would otherwise widen every change of the table, silently. */
  #reportRuleColumns(change: DriftChange): void {
    if (change.kind === 'missing') {
      const { table, missingColumns, templates, source } = change.table
      this.#log.warn({ table, missingColumns, templates, source }, describeMissingRuleColumns(change.table))
    } else {
      this.#log.info({ table: change.table }, 'the invalidation rules of the table name only columns it has again')
    }
    this.emit('ruleColumns', change)
  }

  #setState(state: ListenerState): void {
    const previous = this.#status.setState(state)
    if (previous === state) return
    this.#log.info({ state, previous }, `replication ${state}`)
    this.emit('state', state, previous)
  }

  #sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.#abort.signal)
  }
}
