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
  /** pg_class oid: the identity the stream keeps through ALTER TABLE ... RENAME. */
  readonly oid: number
  /** The table's columns in the catalog now; the listener checks its rules against them until the stream describes the table. */
  readonly columns: readonly string[]
  readonly replicaIdentity: ReplicaIdentity
  readonly identityColumns: readonly string[]
  readonly gaps: readonly IdentityGap[]
}

export interface SetupReport {
  readonly role: { readonly name: string; readonly superuser: boolean; readonly replication: boolean }
  readonly publication: PublicationReport
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
  /**
   * Configured tables that do not exist (dropped, renamed before this start, misspelt). A
   * warning, not a refusal, for the same reason: the other tables keep their invalidation.
   * Nobody writes to a table that does not exist, so no entry goes stale through it; a
   * renamed one stays in the publication (see PublicationReport.keptTables).
   */
  readonly missingTables: readonly string[]
  /** The slot was created, recreated or is lost: changes may have been missed, flush the cache. */
  readonly continuityBroken: boolean
}

export interface PublicationReport {
  readonly name: string
  readonly created: boolean
  /** FOR ALL TABLES: every table of the database is published, watched or not. */
  readonly allTables: boolean
  readonly addedTables: readonly string[]
  /** Tables no longer named by the config, removed so that their changes stop arriving. */
  readonly removedTables: readonly string[]
  /**
   * Tables no rule names, left in the publication because a configured table is missing: one
   * of them may be that table renamed, and its changes must keep arriving (the listener
   * purges every entry on them, since it cannot tell which rules apply).
   */
  readonly keptTables: readonly string[]
}

export async function setupReplication(options: SetupReplicationOptions): Promise<SetupReport> {
  const { sql } = options
  await checkWalLevel(sql)
  const role = await checkRole(sql)
  const { tables, missingTables } = await inspectTables(sql, options.tables)
  const existing = options.tables.filter((rule) => !missingTables.includes(qualifiedName(rule.schema, rule.table)))
  const publication = await ensurePublication(sql, { name: options.publication, rules: existing, pruneUnnamed: missingTables.length === 0 })
  const slot = await ensureSlot(sql, options.slot, options.recreateLostSlot ?? false)
  const warnings = tables.flatMap((t) => t.gaps.map((gap) => describeGap(t.qualified, t.catalog, gap)))
  warnings.push(...missingTables.map((table) => describeMissingTable(table, publication)))
  if (publication.allTables) warnings.push(allTablesWarning(publication.name))
  if (slot.status === 'lost') warnings.push(lostSlotWarning(options.slot))
  return {
    role,
    publication,
    slot,
    tables: tables.map(({ catalog: _catalog, missingColumns: _missing, ...report }) => report),
    warnings,
    missingRuleColumns: tables.flatMap((t) => t.missingColumns === undefined ? [] : [t.missingColumns]),
    missingTables,
    continuityBroken: slot.status !== 'existing',
  }
}

/** One sentence for the operator: what is missing, what the proxy does meanwhile, the fix. */
export function describeMissingTable(table: string, publication: Pick<PublicationReport, 'keptTables'>): string {
  const kept = publication.keptTables.length === 0 ? ''
    : ` The publication keeps ${publication.keptTables.join(', ')}, which no rule names: if one of them is ${table} renamed, ` +
      'each of its changes purges every cached entry until the config names it.'
  return `table ${table} does not exist (dropped, renamed, or misspelt in invalidation.tables): its rules invalidate nothing; ` +
    `the other tables keep their invalidation.${kept} Fix or remove its entry in invalidation.tables.`
}

/**
 * With FOR ALL TABLES the publication says nothing about which tables matter, so the
 * listener ignores changes of tables no rule names unless a configured table is missing.
 */
function allTablesWarning(name: string): string {
  return `publication "${name}" is FOR ALL TABLES: changes of tables without rules are ignored, except while a configured ` +
    'table is missing (one of them may be it renamed): then each of them purges every cached entry. ' +
    'A publication FOR TABLE of the configured tables (DROP PUBLICATION, then setup) keeps a renamed table identifiable.'
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

/** The catalog entry and the oid that identifies the table in the stream. */
interface CatalogEntry extends TableCatalog {
  readonly oid: number
}

interface InspectedTable extends TableReport {
  readonly catalog: TableCatalog
  readonly missingColumns: MissingRuleColumns | undefined
}

interface InspectedTables {
  readonly tables: readonly InspectedTable[]
  readonly missingTables: readonly string[]
}

/** Every problem of every table in one error, so one run of `setup` lists them all. */
async function inspectTables(sql: SqlClient, rules: readonly TableRule[]): Promise<InspectedTables> {
  const problems: string[] = []
  const inspected: InspectedTable[] = []
  const missingTables: string[] = []
  for (const rule of rules) {
    const qualified = qualifiedName(rule.schema, rule.table)
    const catalog = await readTableCatalog(sql, rule)
    if (catalog === undefined) { missingTables.push(qualified); continue }
    const problem = describeTableProblem(rule, qualified, catalog)
    if (problem !== undefined) problems.push(problem)
    else inspected.push(inspectTable(rule, qualified, catalog))
  }
  if (rules.length > 0 && missingTables.length === rules.length) problems.push(describeNoTableExists(missingTables))
  if (problems.length > 0) throw new ProxyError('CCP_REPLICATION_SETUP', problems.join('; '))
  return { tables: inspected, missingTables }
}

/**
 * Not one configured table exists: most likely the wrong database, whose writes the proxy
 * would never see. Refused, unlike a few missing tables (a migration), because caching
 * without a single invalidation source would serve stale entries until their TTL.
 */
function describeNoTableExists(missing: readonly string[]): string {
  return `none of the configured tables exists (${missing.join(', ')}): is invalidation.database the application's database?`
}

function inspectTable(rule: TableRule, qualified: string, catalog: CatalogEntry): InspectedTable {
  const columns = checkRuleColumns(rule, catalog.columns)
  return {
    name: rule.name,
    qualified,
    relation: { schema: rule.schema, table: rule.table },
    oid: catalog.oid,
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

async function readTableCatalog(sql: SqlClient, rule: TableRule): Promise<CatalogEntry | undefined> {
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
    oid: table.oid,
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

interface PublicationPlan {
  readonly name: string
  /** The configured tables that exist. */
  readonly rules: readonly TableRule[]
  /** Remove the tables no rule names: only when no configured table is missing (it may be one of them, renamed). */
  readonly pruneUnnamed: boolean
}

async function ensurePublication(sql: SqlClient, plan: PublicationPlan): Promise<PublicationReport> {
  const { name, rules } = plan
  let created = false
  if ((await readPublication(sql, name)) === undefined) created = await createPublication(sql, name, rules)
  const publication = await readPublication(sql, name)
  if (publication === undefined) throw new ProxyError('CCP_REPLICATION_SETUP', `publication "${name}" vanished while it was being set up`)
  checkPublishedOperations(name, publication)
  const report = { name, created, allTables: publication.puballtables, addedTables: [], removedTables: [], keptTables: [] }
  if (publication.puballtables) return report // tables cannot be added to or dropped from it
  const addedTables = created ? [] : await addMissingTables(sql, name, rules)
  const unnamed = await readUnnamedTables(sql, name, rules)
  if (!plan.pruneUnnamed) return { ...report, addedTables, keptTables: unnamed.map(describeRelation) }
  return { ...report, addedTables, removedTables: await dropTables(sql, name, unnamed) }
}

async function readPublication(sql: SqlClient, name: string): Promise<PublicationRow | undefined> {
  return (await sql.query<PublicationRow>(
    'SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1', [name])).rows[0]
}

/**
 * An empty publication (every configured table missing is refused earlier, but rules may be
 * empty) is valid: FOR TABLE needs at least one table, so it is then created without.
 * publish_via_partition_root: changes of a partition arrive under the partitioned table's
 * name, the one the config names. https://www.postgresql.org/docs/current/sql-createpublication.html
 */
async function createPublication(sql: SqlClient, name: string, rules: readonly TableRule[]): Promise<boolean> {
  const tables = rules.map((r) => `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`).join(', ')
  try {
    await sql.query(`CREATE PUBLICATION ${quoteIdent(name)} ${tables === '' ? '' : `FOR TABLE ${tables} `}` +
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
  const has = new Set((await readPublishedTables(sql, name)).map((r) => `${r.schema}\u0000${r.table}`))
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

async function readPublishedTables(sql: SqlClient, name: string): Promise<RelationName[]> {
  const present = await sql.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2', [name])
  return present.rows.map((r) => ({ schema: r.schemaname, table: r.tablename }))
}

/**
 * Published tables no rule names: a table removed from the config (ADD TABLE only ever
 * added), one added by hand, or a configured table renamed (the publication follows the oid).
 */
async function readUnnamedTables(sql: SqlClient, name: string, rules: readonly TableRule[]): Promise<RelationName[]> {
  const named = new Set(rules.map((r) => `${r.schema}\u0000${r.table}`))
  return (await readPublishedTables(sql, name)).filter((r) => !named.has(`${r.schema}\u0000${r.table}`))
}

/** The listener purges every entry on a change of a table no rule names: those must not stay published. */
async function dropTables(sql: SqlClient, name: string, tables: readonly RelationName[]): Promise<string[]> {
  const dropped: string[] = []
  for (const table of tables) {
    try {
      await sql.query(`ALTER PUBLICATION ${quoteIdent(name)} DROP TABLE ${quoteIdent(table.schema)}.${quoteIdent(table.table)}`)
      dropped.push(describeRelation(table))
    } catch (cause) {
      if (sqlState(cause) === '42704' || sqlState(cause) === '42P01') continue // dropped concurrently
      throw new ProxyError('CCP_REPLICATION_SETUP', `could not remove ${describeRelation(table)} from publication "${name}": ${(cause as Error).message}`, { cause })
    }
  }
  return dropped
}

function describeRelation(relation: RelationName): string {
  return qualifiedName(relation.schema, relation.table)
}
