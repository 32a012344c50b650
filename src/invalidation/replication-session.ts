import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { ProxyError } from '../errors.js'
import type { CacheStore } from '../store/store.js'
import { abortableSleep } from './abortable-sleep.js'
import { makeBackoff } from './backoff.js'
import { decodePgoutput, type PgoutputEvent } from './decode-pgoutput.js'
import type { CompiledTableRules } from './determine-tags.js'
import { parseHeartbeat } from './heartbeat.js'
import { INVALID_LSN, formatLsn, maxLsn, type Lsn } from './lsn.js'
import { libraryAckArgument } from './replication-ack.js'
import type { RelationName } from './row-change.js'
import { sqlState } from './sql-client.js'
import { makeTransactionTags, type TransactionTags, type UnknownTableAction } from './transaction-tags.js'

/**
 * One connection attempt to the slot: a fresh LogicalReplicationService each time, because
 * a re-subscribed instance resumes from the last *received* position and would skip
 * commits that were received but never applied. It starts at 0/0, which makes the server
 * resume at the slot's confirmed_flush_lsn. It ends, never to be reused, on stop, error,
 * silence (watchdog), a purge that keeps failing, or when another consumer holds the slot.
 */
export type SessionOutcome =
  | { readonly kind: 'stopped' }
  /** SQLSTATE 55006: another process streams from the slot. */
  | { readonly kind: 'standby'; readonly error: Error }
  /** `walsenderPid`: the server process that streamed to us, if we were leader (it may outlive us). */
  | { readonly kind: 'failed'; readonly error: ProxyError; readonly walsenderPid: number | undefined }

export interface AppliedTransaction {
  /** The confirmed position: the end of the commit record. */
  readonly lsn: string
  readonly tables: readonly string[]
  readonly rowsByTable: ReadonlyMap<string, number>
  readonly collapsedTables: readonly string[]
  readonly tagCount: number
  /** From the commit timestamp (Postgres' clock) to the purge confirmation (ours). */
  readonly commitToPurgeMs: number
  /** Set when the transaction carried a heartbeat: the new watermark. */
  readonly heartbeatMs: number | undefined
}

export interface SessionOptions {
  readonly connectionString: string
  readonly slot: string
  readonly publication: string
  readonly rules: () => CompiledTableRules
  /** What a change of a table no rule names invalidates (nothing, or every entry). */
  readonly unknownTableAction: UnknownTableAction
  readonly maxRowsPerTable: number
  readonly store: CacheStore
  readonly clock: Clock
  readonly log: Logger
  readonly watchdogMs: number
  readonly purgeAttempts: number
  readonly purgeRetryMs: number
  /** The slot's confirmed position, read once we hold it (keepalive replies before the first commit). */
  readonly readConfirmedFlush: () => Promise<Lsn | undefined>
  readonly onLeader: () => void
  readonly onApplied: (applied: AppliedTransaction) => void
  /**
   * A Relation message: the table's oid, current name and the columns the stream sends for
   * it from now on. Called before any change of the table that follows it (flow control).
   */
  readonly onRelation: (relation: RelationName, oid: number, columns: readonly string[]) => void
}

export interface ReplicationSession {
  readonly done: Promise<SessionOutcome>
  stop(): Promise<void>
}

interface OpenTransaction {
  readonly tags: TransactionTags
  heartbeatMs: number | undefined
}

interface PendingCommit {
  readonly endLsn: Lsn
  readonly commitTimeMs: number
  readonly summary: ReturnType<TransactionTags['summarize']>
  readonly heartbeatMs: number | undefined
}

/** Commits decoded but not yet purged, at most; beyond it the stream waits for the store. */
const MAX_PENDING_COMMITS = 1000

function appliedOf(commit: PendingCommit, now: number): AppliedTransaction {
  return {
    lsn: formatLsn(commit.endLsn),
    tables: commit.summary.tables,
    rowsByTable: commit.summary.rowsByTable,
    collapsedTables: commit.summary.collapsedTables,
    tagCount: commit.summary.tags.length,
    commitToPurgeMs: now - commit.commitTimeMs,
    heartbeatMs: commit.heartbeatMs,
  }
}

const REPLICATION_CONFIG = {
  // auto: true acks before async handlers finish; auto: false alone still runs a timer that
  // acks the last *received* position every 10 s. Both lose invalidations. Pinned by
  // test/invalidation/library-auto-ack-timer.test.ts.
  acknowledge: { auto: false, timeoutSeconds: 0 },
  // The library awaits the data handler before the next message: purges stay in commit order.
  flowControl: { enabled: true },
}

export function startReplicationSession(options: SessionOptions): ReplicationSession {
  return new Session(options).begin()
}

class Session {
  readonly #options: SessionOptions
  readonly #service: LogicalReplicationService
  readonly #abort = new AbortController()
  #resolve: (outcome: SessionOutcome) => void = () => {}
  #finished = false
  #closed: Promise<void> | undefined
  #leader = false
  #walsenderPid: number | undefined
  #lastActivity: number
  #lastPing = 0
  #lastApplied: Lsn = INVALID_LSN
  #transaction: OpenTransaction | undefined
  #watchdog: NodeJS.Timeout | undefined
  readonly #pending: PendingCommit[] = []
  #flushing: Promise<void> | undefined

  constructor(options: SessionOptions) {
    this.#options = options
    this.#lastActivity = options.clock.now()
    this.#service = new LogicalReplicationService({ connectionString: options.connectionString }, REPLICATION_CONFIG)
  }

  begin(): ReplicationSession {
    const done = new Promise<SessionOutcome>((resolve) => { this.#resolve = resolve })
    this.#listen()
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#options.publication], messages: true })
    this.#service.subscribe(plugin, this.#options.slot, '0/0').then(
      () => this.#fail(new Error('the replication stream ended')),
      (err: unknown) => this.#handleSubscribeError(err),
    )
    const period = Math.max(50, Math.min(1000, Math.floor(this.#options.watchdogMs / 4)))
    this.#watchdog = setInterval(() => this.#checkWatchdog(), period)
    return { done, stop: () => this.#finish({ kind: 'stopped' }) }
  }

  #listen(): void {
    const service = this.#service
    service.on('error', (err: Error) => this.#fail(err))
    service.on('start', () => this.#becomeLeader())
    service.on('heartbeat', (_lsn: string, _timestamp: number, shouldRespond: boolean) => {
      this.#touch()
      // Answer with what was APPLIED, never the keepalive's position: that would confirm
      // commits that were sent but not yet purged.
      if (shouldRespond) this.#acknowledge(this.#lastApplied, false)
    })
    service.on('data', (_lsn: string, message: Pgoutput.Message) => this.#handleMessage(message))
  }

  #handleSubscribeError(err: unknown): void {
    if (sqlState(err) === '55006') void this.#finish({ kind: 'standby', error: err as Error })
    else this.#fail(err)
  }

  #becomeLeader(): void {
    this.#leader = true
    this.#touch()
    this.#walsenderPid = walsenderPidOf(this.#service)
    this.#options.onLeader()
    this.#options.readConfirmedFlush().then(
      (confirmed) => { if (confirmed !== undefined) this.#lastApplied = maxLsn(this.#lastApplied, confirmed) },
      (err: unknown) => this.#options.log.warn({ err }, 'could not read the slot position'),
    )
  }

  async #handleMessage(message: Pgoutput.Message): Promise<void> {
    if (this.#finished) return // latched: the library goes on emitting queued messages
    this.#touch()
    try {
      await this.#handleEvent(decodePgoutput(message))
    } catch (err) {
      this.#fail(err)
    }
  }

  async #handleEvent(event: PgoutputEvent): Promise<void> {
    switch (event.kind) {
      case 'begin':
        this.#transaction = { tags: makeTransactionTags(this.#options.rules(), this.#options.maxRowsPerTable, this.#options.unknownTableAction), heartbeatMs: undefined }
        return
      case 'change':
        this.#openTransaction().tags.add(event.change)
        return
      case 'message':
        this.#noteHeartbeat(event)
        return
      case 'commit':
        return this.#commit(event.endLsn, event.commitTimeMs)
      case 'relation':
        this.#options.onRelation(event.relation, event.oid, event.columns)
        return
      case 'skip':
        return
    }
  }

  #openTransaction(): OpenTransaction {
    if (this.#transaction === undefined) throw new ProxyError('CCP_REPLICATION_STREAM', 'a change arrived outside a transaction')
    return this.#transaction
  }

  #noteHeartbeat(event: Extract<PgoutputEvent, { kind: 'message' }>): void {
    const ms = parseHeartbeat(event.prefix, event.content)
    // Only a transactional heartbeat is ordered with the commits around it.
    if (ms === undefined || !event.transactional || this.#transaction === undefined) return
    this.#transaction.heartbeatMs = Math.max(this.#transaction.heartbeatMs ?? 0, ms)
  }

  /**
   * Group commit: a transaction's tags join the pending batch and the stream moves on; one
   * purge (a single DEL) then covers every commit that arrived while the previous purge was in
   * flight, and only afterwards is the newest of them acknowledged. The ack still never passes
   * an unpurged commit, and purges stay in commit order. The batch is bounded: past it the
   * handler waits, which stops the stream (flow control) until the store catches up.
   */
  async #commit(endLsn: Lsn, commitTimeMs: number): Promise<void> {
    const transaction = this.#openTransaction()
    this.#transaction = undefined
    const summary = transaction.tags.summarize()
    this.#pending.push({ endLsn, commitTimeMs, summary, heartbeatMs: transaction.heartbeatMs })
    this.#flushing ??= this.#flushPending().finally(() => { this.#flushing = undefined })
    if (this.#pending.length >= MAX_PENDING_COMMITS) await this.#flushing
  }

  async #flushPending(): Promise<void> {
    while (this.#pending.length > 0 && !this.#finished) {
      const batch = this.#pending.splice(0)
      const tags = [...new Set(batch.flatMap((commit) => commit.summary.tags))]
      if (tags.length > 0 && !(await this.#purge(tags))) return // latched: nothing of the batch is acked
      const heartbeats = batch.flatMap((commit) => (commit.heartbeatMs === undefined ? [] : [commit.heartbeatMs]))
      if (heartbeats.length > 0) await this.#writeWatermark(Math.max(...heartbeats))
      if (this.#finished) return
      const newest = batch[batch.length - 1] as PendingCommit
      this.#acknowledge(newest.endLsn, false)
      this.#lastApplied = maxLsn(this.#lastApplied, newest.endLsn)
      const now = this.#options.clock.now()
      for (const commit of batch) this.#options.onApplied(appliedOf(commit, now))
    }
  }

  /** Retries a few times in place; then latches the session so the commit is replayed after a reconnect. */
  async #purge(tags: readonly string[]): Promise<boolean> {
    const backoff = makeBackoff({ baseMs: this.#options.purgeRetryMs, maxMs: this.#options.purgeRetryMs * 16 })
    let lastError: unknown
    for (let attempt = 1; attempt <= this.#options.purgeAttempts && !this.#finished; attempt++) {
      try {
        await this.#options.store.invalidateTags(tags)
        return true
      } catch (err) {
        lastError = err
        this.#touch() // busy, not silent: the watchdog must not blame the server
        this.#options.log.warn({ err, attempt, tagCount: tags.length, code: 'CCP_PURGE_FAILED' }, 'purge failed, retrying')
        if (attempt < this.#options.purgeAttempts) await abortableSleep(backoff.next(), this.#abort.signal)
      }
    }
    this.#fail(new ProxyError('CCP_PURGE_FAILED', `purge of ${tags.length} tags failed; the commit stays unacknowledged and is replayed`, { cause: lastError }))
    return false
  }

  /** The watermark only gates serving; failing to write it is logged, not fatal (the next beat retries). */
  async #writeWatermark(ms: number): Promise<void> {
    try {
      await this.#options.store.writeWatermark(ms)
    } catch (err) {
      this.#options.log.warn({ err, code: 'CCP_STORE_UNAVAILABLE' }, 'could not record the replication watermark')
    }
  }

  #acknowledge(position: Lsn, ping: boolean): void {
    if (position === INVALID_LSN || this.#finished) return
    this.#service.acknowledge(libraryAckArgument(position), ping).catch((err: unknown) => this.#fail(err))
  }

  #touch(): void {
    this.#lastActivity = this.#options.clock.now()
  }

  /** A silent peer (half-open TCP, frozen server) is detected by us, not by the kernel hours later. */
  #checkWatchdog(): void {
    const idle = this.#options.clock.now() - this.#lastActivity
    if (idle > this.#options.watchdogMs) {
      this.#fail(new Error(`no replication traffic for ${idle} ms`))
    } else if (this.#leader && idle > this.#options.watchdogMs / 2 && this.#lastActivity > this.#lastPing) {
      this.#lastPing = this.#lastActivity
      this.#acknowledge(this.#lastApplied, true) // asks the server for a keepalive now
    }
  }

  #fail(err: unknown): void {
    const error = err instanceof ProxyError ? err
      : new ProxyError('CCP_REPLICATION_STREAM', `replication stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    void this.#finish({ kind: 'failed', error, walsenderPid: this.#walsenderPid })
  }

  /** Idempotent. Resolves `done` at once, then closes the connection so the slot frees. */
  #finish(outcome: SessionOutcome): Promise<void> {
    if (!this.#finished) {
      this.#finished = true
      clearInterval(this.#watchdog)
      this.#abort.abort()
      this.#resolve(outcome)
      this.#closed = this.#close()
    }
    return this.#closed ?? Promise.resolve()
  }

  async #close(): Promise<void> {
    // destroy() ends the client; pg destroys the socket when a query (START_REPLICATION) is active.
    const closing = this.#service.destroy().then(() => undefined, () => undefined)
    await Promise.race([closing, abortableSleep(2000, new AbortController().signal)])
  }
}

/**
 * The server process streaming to us, from the connection's BackendKeyData: known at once,
 * without a query that the fault we are about to detect could block. pg-logical-replication
 * keeps its pg Client private; pinned by test/invalidation/library-client-pid.test.ts.
 */
function walsenderPidOf(service: LogicalReplicationService): number | undefined {
  const pid = (service as unknown as { _client?: { processID?: unknown } | null })._client?.processID
  return typeof pid === 'number' ? pid : undefined
}
