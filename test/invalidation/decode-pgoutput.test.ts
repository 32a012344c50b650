import { readFileSync } from 'node:fs'
import { PgoutputPlugin } from 'pg-logical-replication'
import t from 'tap'
import { decodePgoutput, type PgoutputEvent } from '../../src/invalidation/decode-pgoutput.js'
import { parseLsn } from '../../src/invalidation/lsn.js'
import type { RowChange } from '../../src/invalidation/row-change.js'

/**
 * Real pgoutput bytes recorded from Postgres by test/fixtures/record-pgoutput.mjs (its
 * `steps` list the SQL), parsed by the library's own parser as in production, then decoded.
 */
const fixture = JSON.parse(readFileSync(new URL('../fixtures/pgoutput-stream.json', import.meta.url), 'utf8')) as { payloads: string[] }
const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['rec'] })
const events: PgoutputEvent[] = fixture.payloads.map((b64) => decodePgoutput(plugin.parse(Buffer.from(b64, 'base64'))))
const changes: RowChange[] = events.flatMap((e) => (e.kind === 'change' ? [e.change] : []))
const ticket = { schema: 'public', table: 'y_helpdesk_ticket' }

function columns(row: ReadonlyMap<string, string | null>): Record<string, string | null> {
  return Object.fromEntries([...row].map(([k, v]) => [k, v !== null && v.length > 20 ? '<long>' : v]))
}

t.test('every transaction is begin, changes, commit; relation messages carry the columns', async (t) => {
  const kinds = events.map((e) => e.kind).filter((k) => k !== 'skip' && k !== 'relation')
  t.same(kinds.filter((k) => k === 'begin').length, 9)
  t.same(kinds.filter((k) => k === 'commit').length, 9)
  t.same(events.filter((e) => e.kind === 'skip'), [], 'no other message is skipped')
  const relations = events.flatMap((e) => (e.kind === 'relation' ? [e] : []))
  t.equal(relations.length, 3, 'before the first change, then again after each change of its catalog entry (REPLICA IDENTITY FULL, TRUNCATE)')
  for (const relation of relations) t.match(relation, { kind: 'relation', oid: Number, relation: ticket, columns: ['id', 'client_id', 'assigned_to_id', 'body'] })
  t.ok((relations[0]?.oid ?? 0) > 0, 'the table\'s oid, which a rename keeps')
  t.same(new Set(relations.map((r) => r.oid)).size, 1, 'the same table, the same oid')
})

t.test('commit carries the commit position and the end position, as numbers, begin and commit agree', async (t) => {
  const begins = events.flatMap((e) => (e.kind === 'begin' ? [e] : []))
  const commits = events.flatMap((e) => (e.kind === 'commit' ? [e] : []))
  commits.forEach((commit, i) => {
    t.equal(commit.commitLsn, begins[i]?.commitLsn)
    t.ok(commit.endLsn > commit.commitLsn, 'the end is after the start of the commit record')
    t.equal(commit.commitTimeMs, begins[i]?.commitTimeMs)
  })
  t.equal(commits[0]?.endLsn, parseLsn('0/5852B88'))
})

t.test('INSERT: the whole new row as text, ints included', async (t) => {
  t.match(changes[0], { kind: 'insert', relation: ticket })
  if (changes[0]?.kind !== 'insert') throw new Error('not an insert')
  t.same(columns(changes[0].newRow), { id: '1', client_id: '42', assigned_to_id: '7', body: '<long>' })
})

t.test('UPDATE under DEFAULT: no old tuple, unchanged TOASTed column absent, old key taken from the new row', async (t) => {
  const update = changes[1]
  if (update?.kind !== 'update') throw new Error('not an update')
  t.equal(update.oldSource, 'unchanged-key')
  t.same(columns(update.newRow), { id: '1', client_id: '42', assigned_to_id: '8' }, 'body was not sent')
  t.notOk(update.newRow.has('body'))
  t.same(columns(update.oldRow), { id: '1' })
})

t.test('UPDATE of the key: the old key only', async (t) => {
  const update = changes[2]
  if (update?.kind !== 'update') throw new Error('not an update')
  t.equal(update.oldSource, 'key')
  t.same(columns(update.oldRow), { id: '1' })
  t.same(columns(update.newRow), { id: '2', client_id: '42', assigned_to_id: '8' })
})

t.test('DELETE under DEFAULT: the key only', async (t) => {
  t.match(changes[3], { kind: 'delete', oldSource: 'key' })
  if (changes[3]?.kind !== 'delete') throw new Error('not a delete')
  t.same(columns(changes[3].oldRow), { id: '2' })
})

t.test('SQL NULL stays null, distinct from absent', async (t) => {
  if (changes[4]?.kind !== 'insert') throw new Error('not an insert')
  t.equal(changes[4].newRow.get('assigned_to_id'), null)
  t.ok(changes[4].newRow.has('assigned_to_id'))
})

t.test('UPDATE and DELETE under FULL carry the whole old row', async (t) => {
  const update = changes[5]
  if (update?.kind !== 'update') throw new Error('not an update')
  t.equal(update.oldSource, 'full')
  t.same(columns(update.oldRow), { id: '3', client_id: '42', assigned_to_id: null, body: 'short' })
  t.same(columns(update.newRow), { id: '3', client_id: '43', assigned_to_id: '9', body: 'short' })
  t.match(changes[6], { kind: 'delete', oldSource: 'full' })
})

t.test('TRUNCATE names its relations', async (t) => {
  t.same(changes[7], { kind: 'truncate', relations: [ticket] })
})

t.test('a transactional logical message decodes with prefix and text content', async (t) => {
  const message = events.find((e) => e.kind === 'message')
  t.match(message, { kind: 'message', transactional: true, prefix: 'cdc-cache-proxy', content: '1700000000000' })
})

t.test('values the text format cannot reproduce are treated as absent (they widen)', async (t) => {
  const relation = { tag: 'relation' as const, relationOid: 1, schema: 'public', name: 'x', replicaIdentity: 'default' as const, columns: [], keyColumns: ['id'] }
  const decoded = decodePgoutput({ tag: 'insert', relation, new: { id: 5, big: 12n, flag: true, ratio: 0.5, at: new Date(0), doc: { a: 1 }, gone: undefined, nothing: null } })
  if (decoded.kind !== 'change' || decoded.change.kind !== 'insert') throw new Error('not an insert')
  t.same(Object.fromEntries(decoded.change.newRow), { id: '5', big: '12', flag: 't', nothing: null })
})

t.test('a DELETE with neither key nor old row is a stream error', async (t) => {
  const relation = { tag: 'relation' as const, relationOid: 1, schema: 'public', name: 'x', replicaIdentity: 'nothing' as const, columns: [], keyColumns: [] }
  t.throws(() => decodePgoutput({ tag: 'delete', relation, key: null, old: null }), { code: 'CCP_REPLICATION_STREAM' })
})
