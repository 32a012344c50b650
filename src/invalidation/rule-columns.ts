import type { TableRule } from '../config/types.js'
import { EVERYTHING_TAG, widenedPattern } from '../tags/tag-template.js'
import { relationKey } from './row-change.js'

/**
 * Whether a table still has every column its invalidation rules name. A column renamed or
 * dropped by a migration (or misspelt in the config) is absent from every row image, so each
 * tag that needs it widens at that placeholder (determine-tags.ts: absent means unknown,
 * never skipped): nothing goes stale, but every change of the table purges far more than it
 * should, and nothing else would say so. Pure: the columns come from a pgoutput Relation
 * message or from the catalog.
 */
export interface TemplateColumnGap {
  /** The template as written in the config. */
  readonly template: string
  readonly missingColumns: readonly string[]
  /** What the template invalidates meanwhile, over the columns still known: `tickets:{client_id}:*`. */
  readonly widensTo: string
}

export interface MissingRuleColumns {
  /** `schema.table`, as logs and metric labels name tables. */
  readonly table: string
  readonly missingColumns: readonly string[]
  readonly templates: readonly TemplateColumnGap[]
}

export type RuleColumnsVerdict =
  | { readonly kind: 'complete' }
  | { readonly kind: 'missing'; readonly finding: MissingRuleColumns }

export function checkRuleColumns(rule: TableRule, columns: readonly string[]): RuleColumnsVerdict {
  const present = new Set(columns)
  const isMissing = (name: string): boolean => !present.has(name)
  const templates = rule.tags.flatMap((template): TemplateColumnGap[] => {
    const missingColumns = [...new Set(template.placeholders.filter(isMissing))]
    if (missingColumns.length === 0) return []
    return [{ template: template.source, missingColumns, widensTo: widenedPattern(template, isMissing) }]
  })
  if (templates.length === 0) return { kind: 'complete' }
  const missingColumns = [...new Set(templates.flatMap((gap) => gap.missingColumns))]
  return { kind: 'missing', finding: { table: relationKey(rule), missingColumns, templates } }
}

/** One sentence for the operator: what is missing, what the proxy does meanwhile, the fix. */
export function describeMissingRuleColumns(finding: MissingRuleColumns): string {
  const plural = finding.missingColumns.length > 1
  const widened = finding.templates.map((gap) => `"${gap.template}" invalidates ${describeWidening(gap.widensTo)}`).join('; ')
  return `${finding.table} has no column${plural ? 's' : ''} ${finding.missingColumns.join(', ')}, named by its invalidation rules ` +
    `(renamed or dropped by a migration, or misspelt). Until the config or the schema is fixed, every change of the table ` +
    `invalidates widened tags: ${widened}. Nothing is served stale, but far more entries are purged than needed. ` +
    `Fix the column name${plural ? 's' : ''} in invalidation.tables (the reload applies without a restart).`
}

function describeWidening(pattern: string): string {
  return pattern === EVERYTHING_TAG ? '* (every cached entry)' : pattern
}
