import type { CompiledTableRules } from './determine-tags.js'
import { relationKey, type RelationName } from './row-change.js'
import { checkRuleColumns, type MissingRuleColumns } from './rule-columns.js'

/**
 * Which watched tables lack columns their rules name, kept up to date as the listener learns
 * columns: from each pgoutput Relation message (what the stream sends from then on) and, at
 * start, from the catalog as setup read it (so a standby, which never streams, knows too).
 * It says what changed, so that the listener warns once per finding: not again on every
 * reconnect (each session re-sends the Relation of every table it touches), nor on a schema
 * change that leaves the finding as it was.
 */
export type ColumnsSource = 'stream' | 'catalog'

export interface DriftedTable extends MissingRuleColumns {
  /** Where the columns were learned: a Relation message, or the catalog at start. */
  readonly source: ColumnsSource
  /** When this finding was first made (ms since the epoch). */
  readonly sinceMs: number
}

export type DriftChange =
  | { readonly kind: 'missing'; readonly table: DriftedTable }
  | { readonly kind: 'resolved'; readonly table: string }

export interface RuleColumnDrift {
  /** The table's columns as the stream or the catalog described them. */
  learn(relation: RelationName, columns: readonly string[], source: ColumnsSource, rules: CompiledTableRules, now: number): DriftChange | undefined
  /** The rules changed (config reload): every table whose columns are known is checked again. */
  recheck(rules: CompiledTableRules, now: number): DriftChange[]
  current(): readonly DriftedTable[]
}

interface KnownTable {
  readonly relation: RelationName
  readonly columns: readonly string[]
  readonly source: ColumnsSource
}

export function makeRuleColumnDrift(): RuleColumnDrift {
  const known = new Map<string, KnownTable>()
  const drifted = new Map<string, DriftedTable>()

  function check(table: KnownTable, rules: CompiledTableRules, now: number): DriftChange | undefined {
    const key = relationKey(table.relation)
    const rule = rules.lookup(table.relation)
    const verdict = rule === undefined ? undefined : checkRuleColumns(rule, table.columns)
    const previous = drifted.get(key)
    if (verdict?.kind !== 'missing') {
      if (previous === undefined) return undefined
      drifted.delete(key)
      return { kind: 'resolved', table: key }
    }
    const same = previous !== undefined && sameFinding(previous, verdict.finding)
    const next = { ...verdict.finding, source: table.source, sinceMs: same ? previous.sinceMs : now }
    drifted.set(key, next)
    return same ? undefined : { kind: 'missing', table: next }
  }

  return {
    learn(relation, columns, source, rules, now) {
      const table = { relation, columns: [...columns], source }
      known.set(relationKey(relation), table)
      return check(table, rules, now)
    },
    recheck(rules, now) {
      return [...known.values()].flatMap((table) => check(table, rules, now) ?? [])
    },
    current: () => [...drifted.values()],
  }
}

function sameFinding(a: MissingRuleColumns, b: MissingRuleColumns): boolean {
  return JSON.stringify([a.missingColumns, a.templates]) === JSON.stringify([b.missingColumns, b.templates])
}
