import type { TableRule } from '../config/types.js'
import type { CompiledTableRules } from './determine-tags.js'
import { relationKey, type RelationName } from './row-change.js'

/**
 * Which rules apply to a table the stream describes. A pgoutput Relation message carries the
 * table's oid and its current name; the publication follows the oid, so after
 * `ALTER TABLE c RENAME TO c_renamed` the changes of c arrive named c_renamed. Rules are
 * written against names, so the oids of the configured tables, read from the catalog when
 * the listener starts, keep a renamed table under its rules. Pure.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html (Relation)
 */
export interface WatchedTableIdentities {
  /** The oid of each configured table that existed at start, to its configured name. */
  readonly oids: ReadonlyMap<number, RelationName>
  /** Configured tables that did not exist at start: a table no rule names may be one of them renamed. */
  readonly missingTables: readonly string[]
  /** FOR ALL TABLES: being published says nothing about a table being watched. */
  readonly allTablesPublication: boolean
}

export type UnnamedReason =
  /** Not a configured table's oid: added by hand, renamed before this start, or left from an old config. */
  | 'unknown-table'
  /** A FOR ALL TABLES publication sends every table, and every configured table exists. */
  | 'all-tables-publication'
  /** A table the proxy started with, whose rules a config reload removed. */
  | 'removed-from-config'

export type RelationIdentity =
  | { readonly kind: 'named' }
  | { readonly kind: 'renamed'; readonly configured: RelationName; readonly rule: TableRule }
  /**
   * No rule applies. `purge-everything`: its changes cannot be mapped to tags, so every
   * cached entry goes (the safe side: an entry built from it could be anywhere); `ignore`:
   * the table is known not to feed any cached entry.
   */
  | { readonly kind: 'unnamed'; readonly action: 'purge-everything' | 'ignore'; readonly reason: UnnamedReason }

export function identifyRelation(relation: RelationName, oid: number, identities: WatchedTableIdentities, rules: CompiledTableRules): RelationIdentity {
  if (rules.lookup(relation) !== undefined) return { kind: 'named' }
  const configured = identities.oids.get(oid)
  if (configured !== undefined) {
    const rule = rules.lookup(configured)
    return rule === undefined ? { kind: 'unnamed', action: 'ignore', reason: 'removed-from-config' } : { kind: 'renamed', configured, rule }
  }
  if (identities.allTablesPublication && identities.missingTables.length === 0) {
    return { kind: 'unnamed', action: 'ignore', reason: 'all-tables-publication' }
  }
  return { kind: 'unnamed', action: 'purge-everything', reason: 'unknown-table' }
}

/**
 * The rules as the stream names tables: a renamed table's current name finds its configured
 * rules. Names first: once the config names the new name, that rule wins. `renamed` is read
 * live: a rename's Relation message arrives inside the transaction whose changes need it.
 */
export function withRenamedTables(rules: CompiledTableRules, renamed: ReadonlyMap<string, RelationName>): CompiledTableRules {
  return {
    lookup(relation) {
      const rule = rules.lookup(relation)
      if (rule !== undefined) return rule
      const configured = renamed.get(relationKey(relation))
      return configured === undefined ? undefined : rules.lookup(configured)
    },
  }
}
