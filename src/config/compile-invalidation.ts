import type { InvalidationConfig, TableRule } from './types.js'
import type { ProblemList } from './problems.js'
import { parseDuration } from './duration.js'
import { take } from './compile-route.js'
import { parseTagTemplate, type TagTemplate } from '../tags/tag-template.js'

export interface RawInvalidation {
  database: string; slot: string; publication: string; tables: Record<string, string[]>
  freshnessBound?: string | number; heartbeatInterval?: string | number; maxRowsPerTable?: number
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/
const COLUMN_PLACEHOLDER = /^[A-Za-z_][A-Za-z0-9_$]*$/

export function compileInvalidation(raw: RawInvalidation | undefined, problems: ProblemList): InvalidationConfig | undefined {
  if (!raw) return undefined
  const path = ['invalidation']
  const tables = Object.entries(raw.tables).flatMap(([name, templates]) => compileTable(name, templates, [...path, 'tables', name], problems))
  return {
    database: raw.database,
    slot: raw.slot,
    publication: raw.publication,
    tables,
    freshnessBoundMs: raw.freshnessBound === undefined ? 5000 : take(parseDuration(raw.freshnessBound), [...path, 'freshnessBound'], problems, 5000),
    heartbeatIntervalMs: raw.heartbeatInterval === undefined ? 1000 : take(parseDuration(raw.heartbeatInterval), [...path, 'heartbeatInterval'], problems, 1000),
    maxRowsPerTable: raw.maxRowsPerTable ?? 10_000,
  }
}

function compileTable(name: string, sources: string[], path: (string | number)[], problems: ProblemList): TableRule[] {
  const parts = name.split('.')
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    problems.add(path, `"${name}" is not a table name (table or schema.table, unquoted identifiers)`)
    return []
  }
  const [schema, table] = parts.length === 2 ? (parts as [string, string]) : ['public', parts[0] as string]
  const tags: TagTemplate[] = []
  sources.forEach((source, i) => {
    const parsed = parseTagTemplate(source)
    if (!parsed.ok) return problems.add([...path, i], parsed.reason)
    const bad = parsed.template.placeholders.filter((p) => !COLUMN_PLACEHOLDER.test(p))
    if (bad.length > 0) return problems.add([...path, i], `placeholders of table rules name columns; {${bad.join('}, {')}} is not a column name`)
    tags.push(parsed.template)
  })
  return [{ name, schema, table, tags }]
}
