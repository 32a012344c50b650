import t from 'tap'
import { compileTableRules } from '../../src/invalidation/determine-tags.js'
import type { RowChange } from '../../src/invalidation/row-change.js'
import { makeTransactionTags } from '../../src/invalidation/transaction-tags.js'
import { makeRules } from '../helpers/replication.js'

const rules = compileTableRules(makeRules({
  y_helpdesk_ticket: ['tickets:{client_id}:{assigned_to_id}'],
  peoples: ['people:{client_id}', 'tickets:{client_id}'],
}))

function insertTicket(id: number, client = '42'): RowChange {
  return { kind: 'insert', relation: { schema: 'public', table: 'y_helpdesk_ticket' }, newRow: new Map([['client_id', client], ['assigned_to_id', String(id)]]) }
}

function insertPerson(client: string): RowChange {
  return { kind: 'insert', relation: { schema: 'public', table: 'peoples' }, newRow: new Map([['client_id', client]]) }
}

t.test('tags of one transaction are the deduplicated union over its changes', async (t) => {
  const tx = makeTransactionTags(rules, 100)
  tx.add(insertTicket(1))
  tx.add(insertTicket(1))
  tx.add(insertPerson('42'))
  const summary = tx.summarize()
  t.same([...summary.tags].sort(), ['people:42', 'tickets:42', 'tickets:42:1'])
  t.same(summary.tables, ['public.y_helpdesk_ticket', 'public.peoples'])
  t.same([...summary.rowsByTable], [['public.y_helpdesk_ticket', 2], ['public.peoples', 1]])
  t.same(summary.collapsedTables, [])
})

t.test('past maxRowsPerTable one table collapses to its widest tags; the others stay exact', async (t) => {
  const tx = makeTransactionTags(rules, 3)
  for (let i = 0; i < 10_000; i++) tx.add(insertTicket(i, String(i % 7)))
  tx.add(insertPerson('5'))
  const summary = tx.summarize()
  t.same([...summary.tags].sort(), ['people:5', 'tickets:*', 'tickets:5'])
  t.same(summary.collapsedTables, ['public.y_helpdesk_ticket'])
  t.equal(summary.rowsByTable.get('public.y_helpdesk_ticket'), 10_000, 'rows are still counted')
})

t.test('exactly maxRowsPerTable rows do not collapse', async (t) => {
  const tx = makeTransactionTags(rules, 3)
  for (let i = 0; i < 3; i++) tx.add(insertTicket(i))
  t.same(tx.summarize().collapsedTables, [])
  t.equal(tx.summarize().tags.length, 3)
})

t.test('a TRUNCATE inside a transaction collapses the truncated table', async (t) => {
  const tx = makeTransactionTags(rules, 100)
  tx.add(insertTicket(1))
  tx.add({ kind: 'truncate', relations: [{ schema: 'public', table: 'y_helpdesk_ticket' }] })
  tx.add(insertTicket(2))
  t.same(tx.summarize().tags, ['tickets:*'])
})

t.test('unknown tables are reported once per transaction and add no tags', async (t) => {
  const tx = makeTransactionTags(rules, 100)
  const audit: RowChange = { kind: 'insert', relation: { schema: 'public', table: 'audit' }, newRow: new Map() }
  tx.add(audit)
  tx.add(audit)
  const summary = tx.summarize()
  t.same(summary.tags, [])
  t.same(summary.tables, [])
  t.same(summary.unknownTables, [{ schema: 'public', table: 'audit' }])
})
