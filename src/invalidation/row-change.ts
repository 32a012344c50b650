/**
 * One row change decoded from the replication stream, independent of the library that
 * parsed it. Rules turn it into tags (determine-tags.ts); nothing here knows about tags.
 */

/** A column value in Postgres' text output format, or null for SQL NULL. */
export type ColumnValue = string | null

/**
 * The columns a message actually carried. A column that is not a key of the map was not
 * sent: it is outside the replica identity (old rows under REPLICA IDENTITY DEFAULT or
 * USING INDEX), or it is an unchanged TOASTed value that pgoutput leaves out ('u').
 * "Absent" and "NULL" are different facts and must stay distinguishable.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html (TupleData)
 */
export type RowImage = ReadonlyMap<string, ColumnValue>

export interface RelationName {
  readonly schema: string
  readonly table: string
}

/**
 * Where the old row image of an UPDATE or DELETE came from:
 * - `full`: REPLICA IDENTITY FULL sent the whole old row ('O');
 * - `key`: only the replica identity columns were sent ('K');
 * - `unchanged-key`: an UPDATE that sent no old tuple. The protocol sends the old key only
 *   when the update changed a replica identity column, so the old key columns equal the new
 *   ones and are copied from the new row; every other old column is unknown.
 */
export type OldImageSource = 'full' | 'key' | 'unchanged-key'

export type RowChange =
  | { readonly kind: 'insert'; readonly relation: RelationName; readonly newRow: RowImage }
  | {
      readonly kind: 'update'
      readonly relation: RelationName
      readonly newRow: RowImage
      readonly oldRow: RowImage
      readonly oldSource: OldImageSource
    }
  | { readonly kind: 'delete'; readonly relation: RelationName; readonly oldRow: RowImage; readonly oldSource: 'full' | 'key' }
  /** TRUNCATE carries no rows; one message may name several tables (TRUNCATE a, b or CASCADE). */
  | { readonly kind: 'truncate'; readonly relations: readonly RelationName[] }

/** `schema.table`, the key rules are looked up by and the label logs and metrics use. */
export function relationKey(relation: RelationName): string {
  return `${relation.schema}.${relation.table}`
}

/** Every table a change touches (one, or several for TRUNCATE). */
export function changedRelations(change: RowChange): readonly RelationName[] {
  return change.kind === 'truncate' ? change.relations : [change.relation]
}
