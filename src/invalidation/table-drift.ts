import { relationKey, type RelationName } from './row-change.js'
import type { RelationIdentity, UnnamedReason } from './table-identity.js'

/**
 * The watched tables whose name no longer matches the config, kept up to date as the
 * listener learns them (setup at start, then each Relation message). Like the rule-column
 * drift, it says what changed so that each finding is warned once, not on every reconnect
 * (each session re-sends the Relation of every table it touches).
 */
export type TableDrift =
  /** A configured table renamed while the proxy ran: its rules follow it (by oid). */
  | { readonly kind: 'renamed'; readonly table: string; readonly renamedTo: string; readonly sinceMs: number }
  /** A configured table that did not exist at start: its rules invalidate nothing. */
  | { readonly kind: 'missing'; readonly table: string; readonly sinceMs: number }
  /** A published table no rule names and whose oid is no configured table's: each change purges everything. */
  | { readonly kind: 'unknown'; readonly table: string; readonly sinceMs: number }

export type TableDriftChange =
  | { readonly kind: 'found'; readonly drift: TableDrift }
  | { readonly kind: 'resolved'; readonly drift: TableDrift }
  /** Not a drift (status and gauge stay clean), but said once: a table whose changes are ignored. */
  | { readonly kind: 'ignored'; readonly table: string; readonly reason: UnnamedReason }

export interface TableDriftTracker {
  /** The configured tables setup did not find; replaces the previous list. */
  learnMissing(tables: readonly string[], now: number): TableDriftChange[]
  /** What the Relation message of `relation` (its current name; `oid` its identity, which a rename keeps) was identified as. */
  learnRelation(relation: RelationName, oid: number, identity: RelationIdentity, now: number): TableDriftChange[]
  current(): readonly TableDrift[]
}

export function makeTableDrift(): TableDriftTracker {
  /**
   * Renamed and unknown tables by oid, so the next description of the same table (renamed
   * back, or named by a fixed config) replaces the finding; missing tables by configured name.
   */
  const drifts = new Map<string, TableDrift>()
  const ignored = new Set<string>()

  function put(key: string, drift: TableDrift | undefined): TableDriftChange[] {
    const previous = drifts.get(key)
    if (drift === undefined) {
      if (previous === undefined) return []
      drifts.delete(key)
      return [{ kind: 'resolved', drift: previous }]
    }
    if (previous !== undefined && sameDrift(previous, drift)) return []
    drifts.set(key, drift)
    const resolved: TableDriftChange[] = previous === undefined ? [] : [{ kind: 'resolved', drift: previous }]
    return [...resolved, { kind: 'found', drift }]
  }

  function driftOf(table: string, identity: RelationIdentity, now: number): TableDrift | undefined {
    if (identity.kind === 'renamed') return { kind: 'renamed', table: relationKey(identity.configured), renamedTo: table, sinceMs: now }
    if (identity.kind === 'unnamed' && identity.action === 'purge-everything') return { kind: 'unknown', table, sinceMs: now }
    return undefined
  }

  return {
    learnMissing(tables, now) {
      const keep = new Set(tables)
      const changes = [...drifts].filter(([, d]) => d.kind === 'missing' && !keep.has(d.table)).flatMap(([key]) => put(key, undefined))
      return [...changes, ...tables.flatMap((table) => put(`missing\u0000${table}`, { kind: 'missing', table, sinceMs: now }))]
    },
    learnRelation(relation, oid, identity, now) {
      const table = relationKey(relation)
      const changes = put(`oid\u0000${oid}`, driftOf(table, identity, now))
      // A configured table the stream now describes under its configured name exists after all.
      if (identity.kind === 'named') changes.push(...put(`missing\u0000${table}`, undefined))
      if (identity.kind !== 'unnamed' || identity.action !== 'ignore') { ignored.delete(table); return changes }
      if (ignored.has(table)) return changes
      ignored.add(table)
      return [...changes, { kind: 'ignored', table, reason: identity.reason }]
    },
    current: () => [...drifts.values()],
  }
}

function sameDrift(a: TableDrift, b: TableDrift): boolean {
  return a.kind === b.kind && a.table === b.table && (a.kind !== 'renamed' || b.kind !== 'renamed' || a.renamedTo === b.renamedTo)
}

/** One sentence for the operator: what happened, what the proxy does meanwhile, the fix. */
export function describeTableDrift(drift: TableDrift): string {
  switch (drift.kind) {
    case 'renamed':
      return `watched table ${drift.table} was renamed to ${drift.renamedTo}: its invalidation rules keep applying to it (same oid) ` +
        `while this process runs, but a restart would no longer know it. Rename it in invalidation.tables (${drift.table} -> ${drift.renamedTo}).`
    case 'missing':
      return `watched table ${drift.table} does not exist (dropped, renamed, or misspelt): its rules invalidate nothing. ` +
        'Fix or remove its entry in invalidation.tables.'
    case 'unknown':
      return `the publication sends changes of ${drift.table}, which no rule names and which is no configured table: ` +
        'the proxy cannot tell which entries they affect, so each of its changes purges EVERY cached entry. ' +
        `If it is a watched table renamed, name it in invalidation.tables; if not, remove it from the publication (ALTER PUBLICATION ... DROP TABLE ${drift.table}).`
  }
}
