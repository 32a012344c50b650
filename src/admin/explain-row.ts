import type { CompiledConfig } from '../config/types.js'
import { compileTableRules, determineTags } from '../invalidation/determine-tags.js'
import type { ColumnValue, RowChange, RowImage } from '../invalidation/row-change.js'

export type ExplainRowResult = { ok: true; tags: readonly string[]; table: string } | { ok: false; error: string }

/** Which tags a change to this row would purge, by the same rules the listener applies. */
export function explainRow(config: CompiledConfig, body: { table?: unknown; row?: unknown; old?: unknown }): ExplainRowResult {
  if (!config.invalidation) return { ok: false, error: 'no invalidation section in the config' }
  if (typeof body.table !== 'string') return { ok: false, error: '"table" must be a string (table or schema.table)' }
  const newRow = toRowImage(body.row)
  if (!newRow) return { ok: false, error: '"row" must be an object of column values' }
  const [schema, table] = body.table.includes('.') ? body.table.split('.', 2) as [string, string] : ['public', body.table]
  const relation = { schema, table }
  const oldRow = body.old === undefined ? undefined : toRowImage(body.old)
  const change: RowChange = oldRow
    ? { kind: 'update', relation, newRow, oldRow, oldSource: 'full' }
    : { kind: 'insert', relation, newRow }
  const result = determineTags(change, compileTableRules(config.invalidation.tables))
  if (result.unknownTables.length > 0) return { ok: false, error: `no rule for table ${schema}.${table}` }
  return { ok: true, table: `${schema}.${table}`, tags: result.tags }
}

function toRowImage(value: unknown): RowImage | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const row = new Map<string, ColumnValue>()
  for (const [column, v] of Object.entries(value)) row.set(column, v === null ? null : String(v))
  return row
}
