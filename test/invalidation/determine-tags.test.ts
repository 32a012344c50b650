import t from 'tap'
import { compileTableRules, determineTags } from '../../src/invalidation/determine-tags.js'
import type { ColumnValue, RowChange } from '../../src/invalidation/row-change.js'
import { makeRules } from '../helpers/replication.js'

const rules = compileTableRules(makeRules({
  y_helpdesk_ticket: ['tickets:{client_id}:{reporter_id}', 'tickets:{client_id}:{assigned_to_id}'],
  peoples: ['people:{client_id}', 'tickets:{client_id}'],
  'hr.events': ['attendance:{client_id}:{people_id}'],
}))
const ticket = { schema: 'public', table: 'y_helpdesk_ticket' }

function row(values: Record<string, ColumnValue>): ReadonlyMap<string, ColumnValue> {
  return new Map(Object.entries(values))
}

function tagsOf(change: RowChange): string[] {
  return [...determineTags(change, rules).tags].sort()
}

t.test('INSERT tags the new row with every template', async (t) => {
  const change: RowChange = { kind: 'insert', relation: ticket, newRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: '9' }) }
  t.same(tagsOf(change), ['tickets:42:7', 'tickets:42:9'])
})

t.test('UPDATE that moves a ticket to another tenant and assignee invalidates both sides', async (t) => {
  const change: RowChange = {
    kind: 'update', relation: ticket, oldSource: 'full',
    oldRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: '9' }),
    newRow: row({ id: '1', client_id: '43', reporter_id: '7', assigned_to_id: '10' }),
  }
  t.same(tagsOf(change), ['tickets:42:7', 'tickets:42:9', 'tickets:43:10', 'tickets:43:7'])
})

t.test('UPDATE under REPLICA IDENTITY DEFAULT: unknown old columns widen, never skip', async (t) => {
  const change: RowChange = {
    kind: 'update', relation: ticket, oldSource: 'unchanged-key',
    oldRow: row({ id: '1' }),
    newRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: '10' }),
  }
  // The old tenant is unknown, so the widened tag covers every tenant's ticket lists.
  t.same(tagsOf(change), ['tickets:*', 'tickets:42:10', 'tickets:42:7'])
})

t.test('a known tenant with an unknown user widens to the tenant only', async (t) => {
  const rulesWithKey = compileTableRules(makeRules({ y_helpdesk_ticket: ['tickets:{client_id}:{assigned_to_id}'] }))
  const change: RowChange = { kind: 'delete', relation: ticket, oldSource: 'key', oldRow: row({ client_id: '42', id: '1' }) }
  t.same(determineTags(change, rulesWithKey).tags, ['tickets:42:*'])
})

t.test('DELETE with only the key widens every template that needs other columns', async (t) => {
  const change: RowChange = { kind: 'delete', relation: ticket, oldSource: 'key', oldRow: row({ id: '1' }) }
  t.same(tagsOf(change), ['tickets:*'])
})

t.test('an unchanged TOASTed (absent) column in the new row widens', async (t) => {
  const change: RowChange = { kind: 'insert', relation: ticket, newRow: row({ id: '1', client_id: '42', reporter_id: '7' }) }
  t.same(tagsOf(change), ['tickets:42:*', 'tickets:42:7'])
})

t.test('SQL NULL yields no tag for that template and row image (nobody has id NULL)', async (t) => {
  const insert: RowChange = { kind: 'insert', relation: ticket, newRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: null }) }
  t.same(tagsOf(insert), ['tickets:42:7'])
  // Unassigning a ticket still invalidates the previous assignee's list, from the old row.
  const unassign: RowChange = {
    kind: 'update', relation: ticket, oldSource: 'full',
    oldRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: '9' }),
    newRow: row({ id: '1', client_id: '42', reporter_id: '7', assigned_to_id: null }),
  }
  t.same(tagsOf(unassign), ['tickets:42:7', 'tickets:42:9'])
})

t.test('NULL wins over absent in the same template: no tag', async (t) => {
  const change: RowChange = { kind: 'insert', relation: ticket, newRow: row({ id: '1', reporter_id: '7', assigned_to_id: null }) }
  t.same(tagsOf(change), ['tickets:*'], 'only the reporter template, widened at the unknown tenant')
})

t.test('values are escaped so a column cannot forge a separator or wildcard', async (t) => {
  const change: RowChange = { kind: 'insert', relation: ticket, newRow: row({ client_id: 'a:b', reporter_id: '*', assigned_to_id: '9' }) }
  t.same(tagsOf(change), ['tickets:a%3Ab:%2A', 'tickets:a%3Ab:9'])
})

t.test('TRUNCATE invalidates the widest tag of every template of each truncated table', async (t) => {
  const change: RowChange = { kind: 'truncate', relations: [ticket, { schema: 'public', table: 'peoples' }] }
  t.same(tagsOf(change), ['people:*', 'tickets:*'])
})

t.test('schema-qualified rules match only their schema', async (t) => {
  const inHr: RowChange = { kind: 'insert', relation: { schema: 'hr', table: 'events' }, newRow: row({ client_id: '1', people_id: '2' }) }
  t.same(tagsOf(inHr), ['attendance:1:2'])
  const inPublic: RowChange = { kind: 'insert', relation: { schema: 'public', table: 'events' }, newRow: row({ client_id: '1', people_id: '2' }) }
  t.same(determineTags(inPublic, rules), { tags: [], unknownTables: [{ schema: 'public', table: 'events' }] })
})

t.test('a table no rule names yields no tags and is reported', async (t) => {
  const change: RowChange = { kind: 'truncate', relations: [ticket, { schema: 'public', table: 'audit' }] }
  const result = determineTags(change, rules)
  t.same(result.tags, ['tickets:*'])
  t.same(result.unknownTables, [{ schema: 'public', table: 'audit' }])
})
