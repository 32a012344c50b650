import type { AppliedTransaction } from './replication-session.js'
import type { DriftedTable } from './rule-column-drift.js'
import type { TableDrift } from './table-drift.js'

/** What the admin surface and metrics read: a snapshot, never the live counters. */
export type ListenerState = 'leader' | 'standby' | 'disconnected'

export interface TableCounters {
  readonly transactions: number
  readonly rows: number
}

export interface ListenerStatus {
  readonly state: ListenerState
  /** End of the last commit this process purged and acknowledged (`16/B374D848`). */
  readonly lastAppliedLsn: string | null
  readonly lastCommitToPurgeMs: number | null
  /** Newest heartbeat this process applied (ms since epoch); the store holds the shared one. */
  readonly watermarkMs: number | null
  readonly transactionsApplied: number
  readonly tagsPurged: number
  readonly byTable: Readonly<Record<string, TableCounters>>
  readonly lastError: string | null
  /**
   * Watched tables whose rules name columns they lack (renamed, dropped, misspelt): their
   * changes invalidate widened tags until the config or the schema is fixed. A config drift,
   * not an outage: readiness does not fail on it.
   */
  readonly missingRuleColumns: readonly DriftedTable[]
  /**
   * Watched tables renamed (their rules follow them) or missing, and published tables no rule
   * names (each change purges every entry), until the config is fixed. Not an outage either.
   */
  readonly tableDrift: readonly TableDrift[]
}

export interface ListenerStatusRecorder {
  /** Returns the previous state. */
  setState(state: ListenerState): ListenerState
  recordApplied(applied: AppliedTransaction): void
  recordError(err: unknown): void
  recordRuleColumns(tables: readonly DriftedTable[]): void
  recordTableDrift(tables: readonly TableDrift[]): void
  snapshot(): ListenerStatus
}

export function makeListenerStatus(): ListenerStatusRecorder {
  let state: ListenerState = 'disconnected'
  let lastAppliedLsn: string | null = null
  let lastCommitToPurgeMs: number | null = null
  let watermarkMs: number | null = null
  let transactionsApplied = 0
  let tagsPurged = 0
  let lastError: string | null = null
  let missingRuleColumns: readonly DriftedTable[] = []
  let tableDrift: readonly TableDrift[] = []
  const byTable = new Map<string, { transactions: number; rows: number }>()

  function recordApplied(applied: AppliedTransaction): void {
    lastAppliedLsn = applied.lsn
    transactionsApplied += 1
    tagsPurged += applied.tagCount
    if (applied.heartbeatMs !== undefined) watermarkMs = Math.max(watermarkMs ?? 0, applied.heartbeatMs)
    if (applied.tables.length > 0) lastCommitToPurgeMs = applied.commitToPurgeMs
    for (const [table, rows] of applied.rowsByTable) {
      const counters = byTable.get(table) ?? { transactions: 0, rows: 0 }
      counters.transactions += 1
      counters.rows += rows
      byTable.set(table, counters)
    }
  }

  return {
    setState(next) {
      const previous = state
      state = next
      return previous
    },
    recordApplied,
    recordError(err) {
      lastError = err instanceof Error ? err.message : String(err)
    },
    recordRuleColumns(tables) {
      missingRuleColumns = [...tables]
    },
    recordTableDrift(tables) {
      tableDrift = [...tables]
    },
    snapshot: () => ({
      state,
      lastAppliedLsn,
      lastCommitToPurgeMs,
      watermarkMs,
      transactionsApplied,
      tagsPurged,
      byTable: Object.fromEntries([...byTable].map(([table, c]) => [table, { ...c }])),
      lastError,
      missingRuleColumns,
      tableDrift,
    }),
  }
}
