import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import { createTestDatabase, makeRules } from '../helpers/replication.js'

/**
 * A rule naming a column the table lacks (a migration renamed it, or a typo) is checked
 * against the live catalog at setup, which also runs at every start of the listener. It is
 * reported with what the rule invalidates meanwhile, and setup still completes: the rule
 * keeps invalidating (widened), whereas refusing would leave a restarted proxy with no
 * invalidation at all.
 */
t.test('setup completes and reports the rule columns a table lacks, with the widened tags', async (t) => {
  const db = await createTestDatabase(t, 'setupcols')
  await db.sql.query(`
    CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int, reporter_id int, assigned_to_id int);
    ALTER TABLE y_helpdesk_ticket RENAME COLUMN assigned_to_id TO assignee_id;
    CREATE TABLE peoples (id int PRIMARY KEY, client_id int);`)
  const tables = makeRules({
    y_helpdesk_ticket: ['tickets:{client_id}:{reporter_id}', 'tickets:{client_id}:{assigned_to_id}'],
    peoples: ['people:{client_id}', 'people:{client_id}:{no_such_column}'],
  })
  const report = await setupReplication({ sql: db.sql, slot: db.slot, publication: db.publication, tables })

  t.match(report.slot, { status: 'created' }, 'the slot was created all the same')
  t.same(report.missingRuleColumns, [
    {
      table: 'public.y_helpdesk_ticket',
      missingColumns: ['assigned_to_id'],
      templates: [{ template: 'tickets:{client_id}:{assigned_to_id}', missingColumns: ['assigned_to_id'], widensTo: 'tickets:{client_id}:*' }],
    },
    {
      table: 'public.peoples',
      missingColumns: ['no_such_column'],
      templates: [{ template: 'people:{client_id}:{no_such_column}', missingColumns: ['no_such_column'], widensTo: 'people:{client_id}:*' }],
    },
  ])
  const ticket = report.tables.find((table) => table.name === 'y_helpdesk_ticket')
  t.same(ticket?.columns, ['id', 'client_id', 'reporter_id', 'assignee_id'], 'the catalog columns, for the listener to check later rules against')
  t.same(ticket?.gaps.map((gap) => gap.columns), [['client_id', 'reporter_id'], ['client_id']],
    'the replica identity advice names only columns that exist')
})
