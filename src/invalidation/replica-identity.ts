import type { TableRule } from '../config/types.js'

/**
 * What the catalog says about one watched table, and the pure checks setup runs on it.
 * The replica identity decides which old-row columns UPDATE and DELETE messages carry:
 * DEFAULT = the primary key, USING INDEX = that index's columns, FULL = every column,
 * NOTHING = none. https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-REPLICA-IDENTITY
 */
export type ReplicaIdentity = 'default' | 'full' | 'index' | 'nothing'

export interface TableCatalog {
  /** pg_class.relkind: 'r' table, 'p' partitioned table; anything else cannot be published. */
  readonly relkind: string
  readonly replicaIdentity: ReplicaIdentity
  readonly columns: readonly string[]
  readonly primaryKey: readonly string[]
  /** Columns of the index chosen by REPLICA IDENTITY USING INDEX, if any. */
  readonly identityIndex: readonly string[]
}

/** pg_class.relreplident: d, f, i, n. */
export function parseReplicaIdentity(code: string): ReplicaIdentity {
  switch (code) {
    case 'f': return 'full'
    case 'i': return 'index'
    case 'n': return 'nothing'
    default: return 'default'
  }
}

/** The columns old rows carry. */
export function identityColumns(catalog: TableCatalog): readonly string[] {
  switch (catalog.replicaIdentity) {
    case 'full': return catalog.columns
    case 'index': return catalog.identityIndex
    case 'nothing': return []
    case 'default': return catalog.primaryKey
  }
}

export interface IdentityGap {
  readonly template: string
  readonly columns: readonly string[]
}

/**
 * For each template, the columns it needs that old rows will not carry (so it widens at run
 * time). Columns the table does not have at all are rule-columns.ts' finding, not a gap: no
 * replica identity would carry them.
 */
export function findIdentityGaps(rule: TableRule, catalog: TableCatalog): IdentityGap[] {
  const existing = new Set(catalog.columns)
  const carried = new Set(identityColumns(catalog))
  return rule.tags
    .map((t) => ({ template: t.source, columns: t.placeholders.filter((name) => existing.has(name) && !carried.has(name)) }))
    .filter((gap) => gap.columns.length > 0)
}

/**
 * Without a usable replica identity, publishing a table makes the application's own UPDATE
 * and DELETE fail ("cannot update table ... because it does not have a replica identity
 * and publishes updates"), so setup refuses rather than break the app.
 * https://www.postgresql.org/docs/current/logical-replication-publication.html
 */
export function hasUsableIdentity(catalog: TableCatalog): boolean {
  return identityColumns(catalog).length > 0
}

export function describeGap(qualified: string, catalog: TableCatalog, gap: IdentityGap): string {
  const carried = identityColumns(catalog)
  return `${qualified}: rule "${gap.template}" needs ${gap.columns.join(', ')} in old rows, but REPLICA IDENTITY ` +
    `${catalog.replicaIdentity.toUpperCase()} carries only ${carried.length > 0 ? carried.join(', ') : 'no columns'}; ` +
    'an UPDATE or DELETE will invalidate widely (the tag is widened where the value is unknown). ' +
    `To invalidate exactly, run: ALTER TABLE ${qualified} REPLICA IDENTITY FULL;`
}
