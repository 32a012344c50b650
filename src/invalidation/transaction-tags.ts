import type { TableRule } from '../config/types.js'
import { EVERYTHING_TAG, widestTag } from '../tags/tag-template.js'
import { determineTags, type CompiledTableRules } from './determine-tags.js'
import { changedRelations, relationKey, type RelationName, type RowChange } from './row-change.js'

/**
 * The tags of one transaction, gathered change by change until its commit. Memory stays
 * bounded for a one-million-row UPDATE: past `maxRowsPerTable` changes of one table, that
 * table collapses to its widest tags (what a TRUNCATE would invalidate) and its further
 * rows are only counted. Invalidating more is always safe; holding a million tags is not.
 * A change of a table no rule names invalidates nothing or everything, as
 * `unknownTableAction` decides (table-identity.ts).
 */
export interface TransactionTags {
  add(change: RowChange): void
  summarize(): TransactionSummary
}

export interface TransactionSummary {
  readonly tags: readonly string[]
  /** `schema.table` of each watched table the transaction changed, in first-seen order. */
  readonly tables: readonly string[]
  readonly rowsByTable: ReadonlyMap<string, number>
  readonly collapsedTables: readonly string[]
  readonly unknownTables: readonly RelationName[]
}

interface TableState {
  rows: number
  collapsed: boolean
  tags: Set<string>
}

export type UnknownTableAction = (relation: RelationName) => 'purge-everything' | 'ignore'

export function makeTransactionTags(rules: CompiledTableRules, maxRowsPerTable: number, unknownTableAction: UnknownTableAction = () => 'ignore'): TransactionTags {
  const tables = new Map<string, TableState>()
  const unknown = new Map<string, RelationName>()
  let purgesEverything = false

  function stateOf(relation: RelationName): TableState {
    const key = relationKey(relation)
    let state = tables.get(key)
    if (state === undefined) tables.set(key, (state = { rows: 0, collapsed: false, tags: new Set() }))
    return state
  }

  function add(change: RowChange): void {
    for (const relation of changedRelations(change)) {
      const rule = rules.lookup(relation)
      if (rule === undefined) {
        unknown.set(relationKey(relation), relation)
        purgesEverything ||= unknownTableAction(relation) === 'purge-everything'
        continue
      }
      const state = stateOf(relation)
      state.rows += 1
      if (state.collapsed) continue
      if (change.kind === 'truncate' || state.rows > maxRowsPerTable) collapse(state, rule)
      else for (const tag of determineTags(change, rules).tags) state.tags.add(tag)
    }
  }

  function summarize(): TransactionSummary {
    const tags = new Set<string>(purgesEverything ? [EVERYTHING_TAG] : [])
    for (const state of tables.values()) for (const tag of state.tags) tags.add(tag)
    return {
      tags: [...tags],
      tables: [...tables.keys()],
      rowsByTable: new Map([...tables].map(([key, state]) => [key, state.rows])),
      collapsedTables: [...tables].filter(([, state]) => state.collapsed).map(([key]) => key),
      unknownTables: [...unknown.values()],
    }
  }

  return { add, summarize }
}

function collapse(state: TableState, rule: TableRule): void {
  state.collapsed = true
  state.tags = new Set(rule.tags.map(widestTag))
}
