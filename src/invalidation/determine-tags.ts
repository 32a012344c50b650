import type { TableRule } from '../config/types.js'
import { renderTag, widestTag, type TagTemplate } from '../tags/tag-template.js'
import type { RelationName, RowChange, RowImage } from './row-change.js'

/** Rules indexed by schema then table (a nested map: names may themselves contain dots). */
export interface CompiledTableRules {
  lookup(relation: RelationName): TableRule | undefined
}

export function compileTableRules(rules: readonly TableRule[]): CompiledTableRules {
  const bySchema = new Map<string, Map<string, TableRule>>()
  for (const rule of rules) {
    const tables = bySchema.get(rule.schema) ?? new Map<string, TableRule>()
    tables.set(rule.table, rule)
    bySchema.set(rule.schema, tables)
  }
  return { lookup: (relation) => bySchema.get(relation.schema)?.get(relation.table) }
}

export interface TagDetermination {
  readonly tags: readonly string[]
  /** Tables the change touched that no rule names (the publication has more than the config). */
  readonly unknownTables: readonly RelationName[]
}

/**
 * Which tags a row change invalidates: every template of the table applied to the new row
 * and to the old row, so an UPDATE that moves a ticket to another assignee or tenant
 * invalidates the lists of both. Pure.
 */
export function determineTags(change: RowChange, rules: CompiledTableRules): TagDetermination {
  if (change.kind === 'truncate') return determineTruncateTags(change.relations, rules)
  const rule = rules.lookup(change.relation)
  if (rule === undefined) return { tags: [], unknownTables: [change.relation] }
  const images = change.kind === 'insert' ? [change.newRow] : change.kind === 'delete' ? [change.oldRow] : [change.newRow, change.oldRow]
  const tags = new Set<string>()
  for (const image of images) {
    for (const template of rule.tags) {
      const tag = renderForRow(template, image)
      if (tag !== undefined) tags.add(tag)
    }
  }
  return { tags: [...tags], unknownTables: [] }
}

/** TRUNCATE carries no rows: everything derived from the table goes. */
function determineTruncateTags(relations: readonly RelationName[], rules: CompiledTableRules): TagDetermination {
  const tags = new Set<string>()
  const unknownTables: RelationName[] = []
  for (const relation of relations) {
    const rule = rules.lookup(relation)
    if (rule === undefined) unknownTables.push(relation)
    else for (const template of rule.tags) tags.add(widestTag(template))
  }
  return { tags: [...tags], unknownTables }
}

/**
 * Two different "no value" cases, kept apart on purpose:
 * - a column ABSENT from the row image (outside the replica identity, or an unchanged
 *   TOASTed value) is unknown, so the tag widens at that segment (`tickets:42:*`), never
 *   skipped: widening can only invalidate more;
 * - a column that is SQL NULL is known: no entry can carry `tickets:42:<NULL>` (there is no
 *   user whose id is NULL, and the request side never renders a NULL), so this template
 *   yields no tag for this row image. The other image of an UPDATE still yields its own.
 */
export function renderForRow(template: TagTemplate, row: RowImage): string | undefined {
  if (template.placeholders.some((column) => row.has(column) && row.get(column) === null)) return undefined
  return renderTag(template, (column) => row.get(column) ?? undefined)
}
