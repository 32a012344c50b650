import t from 'tap'
import { compileTableRules } from '../../src/invalidation/determine-tags.js'
import { makeRuleColumnDrift } from '../../src/invalidation/rule-column-drift.js'
import { makeRules } from '../helpers/replication.js'

/**
 * Each session re-sends the Relation message of every table it touches, and any ALTER of a
 * table sends a new one: the tracker reports a change only when a table's finding changes,
 * so the listener warns once per finding, and says when it is resolved.
 */
const ticket = { schema: 'public', table: 'y_helpdesk_ticket' }
const rules = compileTableRules(makeRules({ y_helpdesk_ticket: ['tickets:{client_id}:{assigned_to_id}'] }))
const renamed = ['id', 'client_id', 'assignee_id']

t.test('the same finding again (reconnect, unrelated ALTER) is no change; its source and start time are kept up to date', async (t) => {
  const drift = makeRuleColumnDrift()
  t.match(drift.learn(ticket, renamed, 'catalog', rules, 1000), { kind: 'missing', table: { table: 'public.y_helpdesk_ticket', missingColumns: ['assigned_to_id'], source: 'catalog', sinceMs: 1000 } })
  t.equal(drift.learn(ticket, renamed, 'stream', rules, 2000), undefined)
  t.equal(drift.learn(ticket, [...renamed, 'note'], 'stream', rules, 3000), undefined)
  t.match(drift.current(), [{ source: 'stream', sinceMs: 1000 }])
})

t.test('a different finding is a change; the columns back is a resolution', async (t) => {
  const drift = makeRuleColumnDrift()
  drift.learn(ticket, renamed, 'stream', rules, 1000)
  t.match(drift.learn(ticket, ['id', 'assignee_id'], 'stream', rules, 2000), { kind: 'missing', table: { missingColumns: ['client_id', 'assigned_to_id'], sinceMs: 2000 } })
  t.same(drift.learn(ticket, ['id', 'client_id', 'assigned_to_id'], 'stream', rules, 3000), { kind: 'resolved', table: 'public.y_helpdesk_ticket' })
  t.same(drift.current(), [])
})

t.test('tables no rule names are not checked; a reload that drops the rule resolves its finding', async (t) => {
  const drift = makeRuleColumnDrift()
  t.equal(drift.learn({ schema: 'public', table: 'stranger' }, ['id'], 'stream', rules, 1000), undefined)
  drift.learn(ticket, renamed, 'stream', rules, 1000)
  t.same(drift.recheck(compileTableRules([]), 2000), [{ kind: 'resolved', table: 'public.y_helpdesk_ticket' }])
  t.match(drift.recheck(rules, 3000), [{ kind: 'missing', table: { table: 'public.y_helpdesk_ticket', sinceMs: 3000 } }], 'and restoring the rule reports it again')
})
