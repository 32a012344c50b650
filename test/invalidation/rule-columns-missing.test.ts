import t from 'tap'
import { determineTags, compileTableRules } from '../../src/invalidation/determine-tags.js'
import { checkRuleColumns, describeMissingRuleColumns } from '../../src/invalidation/rule-columns.js'
import { makeRules } from '../helpers/replication.js'

/**
 * The check the listener runs on every Relation message (and setup on the catalog): which
 * columns a table's rules name that the table lacks, and what each template invalidates
 * meanwhile. `widensTo` must say what determineTags really does with such a row.
 */
const rules = makeRules({ y_helpdesk_ticket: ['tickets:{client_id}:{reporter_id}', 'tickets:{client_id}:{assigned_to_id}', 'ticket:{id}'] })
const [rule] = rules
if (rule === undefined) throw new Error('no rule')

t.test('a table with every column the rules name is complete', async (t) => {
  t.same(checkRuleColumns(rule, ['id', 'client_id', 'reporter_id', 'assigned_to_id', 'title']), { kind: 'complete' })
})

t.test('a renamed column names the templates that need it and the tag each widens to', async (t) => {
  const verdict = checkRuleColumns(rule, ['id', 'client_id', 'reporter_id', 'assignee_id'])
  t.same(verdict, {
    kind: 'missing',
    finding: {
      table: 'public.y_helpdesk_ticket',
      missingColumns: ['assigned_to_id'],
      templates: [{ template: 'tickets:{client_id}:{assigned_to_id}', missingColumns: ['assigned_to_id'], widensTo: 'tickets:{client_id}:*' }],
    },
  })
  // The same row, as the stream now sends it: the widened tag is the one announced.
  const change = { kind: 'insert' as const, relation: { schema: 'public', table: 'y_helpdesk_ticket' }, newRow: new Map([['id', '1'], ['client_id', '42'], ['reporter_id', '7'], ['assignee_id', '8']]) }
  t.same(determineTags(change, compileTableRules(rules)).tags, ['tickets:42:7', 'tickets:42:*', 'ticket:1'])
})

t.test('the first placeholder missing widens to every tenant; a leading one to every entry', async (t) => {
  const verdict = checkRuleColumns(rule, ['id', 'reporter_id', 'assigned_to_id'])
  if (verdict.kind !== 'missing') throw new Error('expected missing columns')
  t.same(verdict.finding.missingColumns, ['client_id'])
  t.same(verdict.finding.templates.map((gap) => gap.widensTo), ['tickets:*', 'tickets:*'])
  const [leading] = makeRules({ events: ['{client_id}:events'] })
  if (leading === undefined) throw new Error('no rule')
  const everything = checkRuleColumns(leading, ['id'])
  if (everything.kind !== 'missing') throw new Error('expected missing columns')
  t.equal(everything.finding.templates[0]?.widensTo, '*')
  t.match(describeMissingRuleColumns(everything.finding), '"{client_id}:events" invalidates * (every cached entry)')
})

t.test('the warning names the table, the columns, each template with its widened tag, and the fix', async (t) => {
  const verdict = checkRuleColumns(rule, ['id', 'client_id'])
  if (verdict.kind !== 'missing') throw new Error('expected missing columns')
  const text = describeMissingRuleColumns(verdict.finding)
  t.match(text, 'public.y_helpdesk_ticket has no columns reporter_id, assigned_to_id')
  t.match(text, '"tickets:{client_id}:{reporter_id}" invalidates tickets:{client_id}:*; "tickets:{client_id}:{assigned_to_id}" invalidates tickets:{client_id}:*')
  t.match(text, 'invalidation.tables')
  t.notMatch(text, 'ticket:{id}', 'a template whose columns all exist is not named')
})
