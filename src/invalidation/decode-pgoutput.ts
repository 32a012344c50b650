import type { Pgoutput } from 'pg-logical-replication'
import { ProxyError } from '../errors.js'
import { parseNullableLsn, type Lsn } from './lsn.js'
import type { ColumnValue, RelationName, RowChange, RowImage } from './row-change.js'

/**
 * Decodes the message objects of pg-logical-replication's PgoutputPlugin (protocol version
 * 1) into what the invalidation path needs. Pure: no I/O, no state; the relation cache
 * lives in the library's parser, which resolves every change to its relation. Relation
 * messages are passed on all the same, for the check of the rules' columns.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
export type PgoutputEvent =
  | { readonly kind: 'begin'; readonly xid: number; readonly commitLsn: Lsn; readonly commitTimeMs: number }
  | { readonly kind: 'change'; readonly change: RowChange }
  | {
      readonly kind: 'message'
      readonly transactional: boolean
      readonly prefix: string
      readonly content: string
      readonly lsn: Lsn
    }
  /** `endLsn` is what a subscriber confirms (the end of the commit record), see replication-ack.ts. */
  | { readonly kind: 'commit'; readonly commitLsn: Lsn; readonly endLsn: Lsn; readonly commitTimeMs: number }
  /**
   * The columns of a published table, as the stream will send its rows: before the first
   * change of the table in a session, and again after every schema change of it. With a
   * publication column list, only the published columns. `oid` is the table's pg_class
   * oid: it survives ALTER TABLE ... RENAME, the name does not (the Relation message after
   * a rename carries the new name under the same oid).
   */
  | { readonly kind: 'relation'; readonly oid: number; readonly relation: RelationName; readonly columns: readonly string[] }
  /** Type and origin messages: the library keeps what it needs from them. */
  | { readonly kind: 'skip'; readonly tag: string }

export function decodePgoutput(message: Pgoutput.Message): PgoutputEvent {
  switch (message.tag) {
    case 'begin':
      return { kind: 'begin', xid: message.xid, commitLsn: parseNullableLsn(message.commitLsn), commitTimeMs: toUnixMs(message.commitTime) }
    case 'commit':
      return {
        kind: 'commit',
        commitLsn: parseNullableLsn(message.commitLsn),
        endLsn: parseNullableLsn(message.commitEndLsn),
        commitTimeMs: toUnixMs(message.commitTime),
      }
    case 'insert':
      return { kind: 'change', change: { kind: 'insert', relation: nameOf(message.relation), newRow: toRowImage(message.new) } }
    case 'update':
      return { kind: 'change', change: decodeUpdate(message) }
    case 'delete':
      return { kind: 'change', change: decodeDelete(message) }
    case 'truncate':
      return { kind: 'change', change: { kind: 'truncate', relations: message.relations.map(truncatedRelation) } }
    case 'message':
      return decodeLogicalMessage(message)
    case 'relation':
      return { kind: 'relation', oid: message.relationOid, relation: nameOf(message), columns: message.columns.map((column) => column.name) }
    default:
      return { kind: 'skip', tag: message.tag }
  }
}

/**
 * The library reads commit timestamps right (microseconds since the Unix epoch, as a
 * bigint); its keepalive timestamps are the ones 7 days off. Pinned by
 * test/invalidation/library-timestamps.test.ts.
 */
function toUnixMs(micros: unknown): number {
  if (typeof micros !== 'bigint') throw new ProxyError('CCP_REPLICATION_STREAM', `commit time is not a bigint: ${String(micros)}`)
  return Number(micros / 1000n)
}

function nameOf(relation: Pgoutput.MessageRelation): RelationName {
  return { schema: relation.schema, table: relation.name }
}

function truncatedRelation(relation: Pgoutput.MessageRelation | undefined): RelationName {
  // The parser looks relations up in its cache; Postgres always sends a Relation message
  // first, so a miss means the stream is not what we think it is.
  if (relation === undefined) throw new ProxyError('CCP_REPLICATION_STREAM', 'TRUNCATE names a relation the stream never described')
  return nameOf(relation)
}

function decodeUpdate(message: Pgoutput.MessageUpdate): RowChange {
  const relation = nameOf(message.relation)
  const newRow = toRowImage(message.new)
  if (message.old !== null) return { kind: 'update', relation, newRow, oldRow: toRowImage(message.old), oldSource: 'full' }
  if (message.key !== null) return { kind: 'update', relation, newRow, oldRow: toRowImage(message.key), oldSource: 'key' }
  // No 'K' and no 'O': the update did not change the replica identity columns, so the old
  // key equals the new key ("This field is optional and is only present if the update
  // changed data in any of the column(s) that are part of the REPLICA IDENTITY index").
  const oldRow = new Map([...newRow].filter(([column]) => message.relation.keyColumns.includes(column)))
  return { kind: 'update', relation, newRow, oldRow, oldSource: 'unchanged-key' }
}

function decodeDelete(message: Pgoutput.MessageDelete): RowChange {
  const relation = nameOf(message.relation)
  if (message.old !== null) return { kind: 'delete', relation, oldRow: toRowImage(message.old), oldSource: 'full' }
  if (message.key !== null) return { kind: 'delete', relation, oldRow: toRowImage(message.key), oldSource: 'key' }
  throw new ProxyError('CCP_REPLICATION_STREAM', `DELETE on ${relation.schema}.${relation.table} carries neither key nor old row`)
}

function decodeLogicalMessage(message: Pgoutput.MessageMessage): PgoutputEvent {
  return {
    kind: 'message',
    transactional: message.transactional,
    prefix: message.prefix,
    content: Buffer.from(message.content).toString('utf8'),
    lsn: parseNullableLsn(message.messageLsn),
  }
}

/** Keeps only the columns the message carried; the library marks unsent ones `undefined`. */
function toRowImage(tuple: Record<string, unknown>): RowImage {
  const row = new Map<string, ColumnValue>()
  for (const [column, value] of Object.entries(tuple)) {
    const text = toColumnText(value)
    if (text !== undefined) row.set(column, text)
  }
  return row
}

/**
 * The library has already run pg's type parsers over the text values. Turn back into
 * Postgres' text output only what round-trips exactly: strings (text, varchar, uuid,
 * numeric, int8, enums are left as strings by pg), safe integers (int2, int4, oid) and
 * booleans (`t`/`f`). Anything else (floats, dates, json, arrays, bytea) cannot be
 * reproduced byte for byte, so it is treated as absent: the tag widens instead of naming
 * a value no cached entry carries. Tag columns are ids in practice; this is the safe side.
 */
function toColumnText(value: unknown): ColumnValue | undefined {
  if (value === null) return null
  switch (typeof value) {
    case 'string': return value
    case 'bigint': return value.toString()
    case 'boolean': return value ? 't' : 'f'
    case 'number': return Number.isSafeInteger(value) ? String(value) : undefined
    default: return undefined
  }
}
