import type { TableRule } from '../config/types.js'
import { ProxyError } from '../errors.js'
import {
  describeGap, findIdentityGaps, hasUsableIdentity, identityColumns, parseReplicaIdentity,
  type IdentityGap, type ReplicaIdentity, type TableCatalog,
} from './replica-identity.js'
import { ensureSlot, type SlotReport } from './replication-slot.js'
import type { RelationName } from './row-change.js'
import { checkRuleColumns, type MissingRuleColumns } from './rule-columns.js'
import { qualifiedName, quoteIdent, sqlState, type SqlClient } from './sql-client.js'

/**
 * Makes Postgres ready for the listener, idempotently; run by `setup` and at every start.
 * Order matters: the publication is created before the slot, or decoding fails with
 * "publication does not exist" (the slot decodes with the catalog as of each change).
 * Nothing is created until every check has passed.
 */
export interface SetupReplicationOptions {
  readonly sql: SqlClient
  readonly slot: string
  readonly publication: string
  readonly tables: readonly TableRule[]
  /** Drop and recreate a slot whose WAL is lost. The caller must then flush the cache. */
  readonly recreateLostSlot?: boolean
}

export interface TableReport {
  readonly name: string
  readonly qualified: string
  readonly relation: RelationName
  /** The table's columns in the catalog now; the listener checks its rules against them until the stream describes the table. */
  readonly columns: readonly string[]
  readonly replicaIdentity: ReplicaIdentity
  readonly identityColumns: readonly string[]
  readonly gaps: readonly IdentityGap[]
}

export interface SetupReport {
  readonly role: { readonly name: string; readonly superuser: boolean; readonly replication: boolean }
  readonly publication: { readonly name: string; readonly created: boolean; readonly addedTables: readonly string[] }
  readonly slot: SlotReport
  readonly tables: readonly TableReport[]
  /** Plain sentences for the operator (replica identity gaps, a lost slot). */
  readonly warnings: readonly string[]
  /**
   * Tables whose rules name columns they lack. A warning, not a refusal: those rules still
   * invalidate (widened), and this same setup runs at every start of the listener, so
   * refusing would turn the next restart after a migration into no invalidation at all.
   */
  readonly missingRuleColumns: readonly MissingRuleColumns[]
  /** The slot was created, recreated or is lost: changes may have been missed, flush the cache. */
  readonly continuityBroken: boolean
}

export async function setupReplication(options: SetupReplicationOptions): Promise<SetupReport> {
  const { sql } = options
  await checkWalLevel(sql)
  const role = await checkRole(sql)
  const tables = await inspectTables(sql, options.tables)
  const publication = await ensurePublication(sql, options.publication, options.tables)
  const slot = await ensureSlot(sql, options.slot, options.recreateLostSlot ?? false)
  const warnings = tables.flatMap((t) => t.gaps.map((gap) => describeGap(t.qualified, t.catalog, gap)))
  if (slot.status === 'lost') warnings.push(lostSlotWarning(options.slot))
  return {
    role,
    publication,
    slot,
    tables: tables.map(({ catalog: _catalog, missingColumns: _missing, ...report }) => report),
    warnings,
    missingRuleColumns: tables.flatMap((t) => t.missingColumns === undefined ? [] : [t.missingColumns]),
    continuityBroken: slot.status !== 'existing',
  }
}

function lostSlotWarning(slot: string): string {
  return `replication slot "${slot}" is lost (wal_status = 'lost'): the WAL it needed was removed, so changes were ` +
    'missed. Drop it (SELECT pg_drop_replication_slot(...)) and run setup again; the cache must be flushed.'
}

/** https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-WAL-LEVEL (needs a restart) */
async function checkWalLevel(sql: SqlClient): Promise<void> {
  const level = (await sql.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level
  if (level !== 'logical') {
    throw new ProxyError('CCP_REPLICATION_SETUP', `wal_level is "${level}", logical replication needs wal_level = logical ` +
      '(ALTER SYSTEM SET wal_level = logical, then restart Postgres)')
  }
}

/** Streaming from a slot needs the REPLICATION attribute (or superuser). https://www.postgresql.org/docs/current/logical-replication-security.html */
async function checkRole(sql: SqlClient): Promise<SetupReport['role']> {
  const row = (await sql.query<{ name: string; superuser: boolean; replication: boolean }>(
    'SELECT rolname AS name, rolsuper AS superuser, rolreplication AS replication FROM pg_roles WHERE rolname = current_user')).rows[0]
  if (row === undefined || (!row.superuser && !row.replication)) {
    throw new ProxyError('CCP_REPLICATION_SETUP', `role "${row?.name ?? 'current_user'}" may not stream changes: ` +
      `ALTER ROLE ${row?.name ?? '<role>'} WITH REPLICATION (publications also need ownership of the tables)`)
  }
  return row
}

interface InspectedTable extends TableReport {
  readonly catalog: TableCatalog
  readonly missingColumns: MissingRuleColumns | undefined
}

/** Every problem of every table in one error, so one run of `setup` lists them all. */
async function inspectTables(sql: SqlClient, rules: readonly TableRule[]): Promise<InspectedTable[]> {
  const problems: string[] = []
  const inspected: InspectedTable[] = []
  for (const rule of rules) {
    const qualified = qualifiedName(rule.schema, rule.table)
    const catalog = await readTableCatalog(sql, rule)
    if (catalog === undefined) { problems.push(`table ${qualified} does not exist`); continue }
    const problem = describeTableProblem(rule, qualified, catalog)
    if (problem !== undefined) problems.push(problem)
    else inspected.push(inspectTable(rule, qualified, catalog))
  }
  if (problems.length > 0) throw new ProxyError('CCP_REPLICATION_SETUP', problems.join('; '))
  return inspected
}

function inspectTable(rule: TableRule, qualified: string, catalog: TableCatalog): InspectedTable {
  const columns = checkRuleColumns(rule, catalog.columns)
  return {
    name: rule.name,
    qualified,
    relation: { schema: rule.schema, table: rule.table },
    columns: catalog.columns,
    replicaIdentity: catalog.replicaIdentity,
    identityColumns: identityColumns(catalog),
    gaps: findIdentityGaps(rule, catalog),
    catalog,
    missingColumns: columns.kind === 'missing' ? columns.finding : undefined,
  }
}

function describeTableProblem(rule: TableRule, qualified: string, catalog: TableCatalog): string | undefined {
  if (catalog.relkind !== 'r' && catalog.relkind !== 'p') return `${qualified} is not a table (relkind ${catalog.relkind}) and cannot be published`
  if (!hasUsableIdentity(catalog)) {
    return `table ${qualified} has no replica identity (REPLICA IDENTITY ${catalog.replicaIdentity.toUpperCase()} and no usable key): ` +
      `publishing it would make its UPDATE and DELETE statements fail; add a primary key or run ALTER TABLE ${qualified} REPLICA IDENTITY FULL`
  }
  return undefined
}

async function readTableCatalog(sql: SqlClient, rule: TableRule): Promise<TableCatalog | undefined> {
  const table = (await sql.query<{ oid: number; relkind: string; relreplident: string }>(
    `SELECT c.oid, c.relkind, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`, [rule.schema, rule.table])).rows[0]
  if (table === undefined) return undefined
  const columns = await sql.query<{ name: string }>(
    'SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum', [table.oid])
  const indexes = await sql.query<{ primary: boolean; identity: boolean; columns: string[] }>(
    `SELECT i.indisprimary AS primary, i.indisreplident AS identity,
            array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
       FROM pg_index i WHERE i.indrelid = $1 AND (i.indisprimary OR i.indisreplident)`, [table.oid])
  return {
    relkind: table.relkind,
    replicaIdentity: parseReplicaIdentity(table.relreplident),
    columns: columns.rows.map((r) => r.name),
    primaryKey: indexes.rows.find((r) => r.primary)?.columns ?? [],
    identityIndex: indexes.rows.find((r) => r.identity)?.columns ?? [],
  }
}

interface PublicationRow {
  readonly puballtables: boolean
  readonly pubinsert: boolean
  readonly pubupdate: boolean
  readonly pubdelete: boolean
  readonly pubtruncate: boolean
}

async function ensurePublication(sql: SqlClient, name: string, rules: readonly TableRule[]): Promise<SetupReport['publication']> {
  let created = false
  if ((await readPublication(sql, name)) === undefined) created = await createPublication(sql, name, rules)
  const publication = await readPublication(sql, name)
  if (publication === undefined) throw new ProxyError('CCP_REPLICATION_SETUP', `publication "${name}" vanished while it was being set up`)
  checkPublishedOperations(name, publication)
  const addedTables = created || publication.puballtables ? [] : await addMissingTables(sql, name, rules)
  return { name, created, addedTables }
}

async function readPublication(sql: SqlClient, name: string): Promise<PublicationRow | undefined> {
  return (await sql.query<PublicationRow>(
    'SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1', [name])).rows[0]
}

/**
 * publish_via_partition_root: changes of a partition arrive under the partitioned table's
 * name, the one the config names. https://www.postgresql.org/docs/current/sql-createpublication.html
 */
async function createPublication(sql: SqlClient, name: string, rules: readonly TableRule[]): Promise<boolean> {
  const tables = rules.map((r) => `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`).join(', ')
  try {
    await sql.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables} ` +
      `WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)`)
    return true
  } catch (cause) {
    if (sqlState(cause) === '42710') return false // another replica created it first
    throw new ProxyError('CCP_REPLICATION_SETUP', `could not create publication "${name}": ${(cause as Error).message}`, { cause })
  }
}

/** A publication that skips an operation would silently drop those invalidations. */
function checkPublishedOperations(name: string, row: PublicationRow): void {
  const missing = (['insert', 'update', 'delete', 'truncate'] as const).filter((op) => !row[`pub${op}`])
  if (missing.length > 0) {
    throw new ProxyError('CCP_REPLICATION_SETUP', `publication "${name}" does not publish ${missing.join(', ')}: ` +
      `ALTER PUBLICATION ${quoteIdent(name)} SET (publish = 'insert, update, delete, truncate')`)
  }
}

async function addMissingTables(sql: SqlClient, name: string, rules: readonly TableRule[]): Promise<string[]> {
  const present = await sql.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1', [name])
  const has = new Set(present.rows.map((r) => `${r.schemaname}\u0000${r.tablename}`))
  const added: string[] = []
  for (const rule of rules.filter((r) => !has.has(`${r.schema}\u0000${r.table}`))) {
    try {
      await sql.query(`ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${quoteIdent(rule.schema)}.${quoteIdent(rule.table)}`)
      added.push(qualifiedName(rule.schema, rule.table))
    } catch (cause) {
      if (sqlState(cause) === '42710') continue // added concurrently
      throw new ProxyError('CCP_REPLICATION_SETUP', `could not add ${qualifiedName(rule.schema, rule.table)} to publication "${name}": ${(cause as Error).message}`, { cause })
    }
  }
  return added
}
