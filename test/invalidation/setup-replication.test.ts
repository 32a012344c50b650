import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import { createTestDatabase, makeRules } from '../helpers/replication.js'

const db = await createTestDatabase(t, 'setup')
await db.sql.query(`
  CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int, reporter_id int, assigned_to_id int);
  CREATE TABLE peoples (id int PRIMARY KEY, client_id int);
  ALTER TABLE peoples REPLICA IDENTITY FULL;
  CREATE TABLE no_key (client_id int);
  CREATE SCHEMA hr;
  CREATE TABLE hr.events (id int PRIMARY KEY, client_id int, people_id int);`)

const tickets = { y_helpdesk_ticket: ['tickets:{client_id}:{assigned_to_id}', 'ticket:{id}'] }
const options = (tables: Record<string, readonly string[]>) =>
  ({ sql: db.sql, slot: db.slot, publication: db.publication, tables: makeRules(tables) })

async function publishedTables(): Promise<string[]> {
  const result = await db.sql.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [db.publication])
  return result.rows.map((r) => r.name)
}

t.test('refuses a config none of whose tables exists (the wrong database?), naming them, before creating anything', async (t) => {
  await t.rejects(setupReplication(options({ missing: ['x:{id}'], gone: ['y:{id}'] })), {
    code: 'CCP_REPLICATION_SETUP',
    message: /none of the configured tables exists \(public\.missing, public\.gone\)/,
  })
  const slots = await db.sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [db.slot])
  t.equal(slots.rowCount, 0, 'no slot was created')
  t.same(await publishedTables(), [], 'no publication was created')
})

t.test('refuses a table whose UPDATE and DELETE publishing would break', async (t) => {
  await t.rejects(setupReplication(options({ no_key: ['x:{client_id}'] })), {
    code: 'CCP_REPLICATION_SETUP',
    message: /public\.no_key has no replica identity.*REPLICA IDENTITY FULL/,
  })
})

t.test('creates the publication, then the slot, and reports the replica identity gaps', async (t) => {
  const report = await setupReplication(options({ ...tickets, peoples: ['people:{client_id}'] }))
  t.match(report.role, { superuser: true })
  t.match(report.publication, { created: true, addedTables: [] })
  t.match(report.slot, { status: 'created', walStatus: 'reserved' })
  t.equal(report.continuityBroken, true, 'a new slot means whatever was cached before cannot be trusted')
  t.same(await publishedTables(), ['public.peoples', 'public.y_helpdesk_ticket'])
  t.match(report.tables, [
    { qualified: 'public.y_helpdesk_ticket', replicaIdentity: 'default', identityColumns: ['id'], gaps: [{ template: 'tickets:{client_id}:{assigned_to_id}' }] },
    { qualified: 'public.peoples', replicaIdentity: 'full', gaps: [] },
  ])
  t.equal(report.warnings.length, 1)
  t.match(report.warnings[0], /ALTER TABLE public\.y_helpdesk_ticket REPLICA IDENTITY FULL/)
  const slot = await db.sql.query('SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = $1', [db.slot])
  t.same(slot.rows, [{ plugin: 'pgoutput', slot_type: 'logical' }])
})

t.test('running it again changes nothing', async (t) => {
  const report = await setupReplication(options({ ...tickets, peoples: ['people:{client_id}'] }))
  t.match(report.publication, { created: false, addedTables: [] })
  t.match(report.slot, { status: 'existing' })
  t.equal(report.continuityBroken, false)
})

t.test('a table added to the config is added to the existing publication', async (t) => {
  const report = await setupReplication(options({ ...tickets, peoples: ['people:{client_id}'], 'hr.events': ['attendance:{client_id}:{people_id}'] }))
  t.same(report.publication.addedTables, ['hr.events'])
  t.same(await publishedTables(), ['hr.events', 'public.peoples', 'public.y_helpdesk_ticket'])
})

t.test('a publication that skips an operation is refused (it would drop invalidations)', async (t) => {
  await db.sql.query(`ALTER PUBLICATION ${db.publication} SET (publish = 'insert, update, delete')`)
  await t.rejects(setupReplication(options(tickets)), { code: 'CCP_REPLICATION_SETUP', message: /does not publish truncate/ })
  await db.sql.query(`ALTER PUBLICATION ${db.publication} SET (publish = 'insert, update, delete, truncate')`)
})

t.test('a slot name taken by another plugin is refused, not dropped', async (t) => {
  const other = `${db.slot}_td`
  await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [other])
  await t.rejects(setupReplication({ ...options(tickets), slot: other }), { code: 'CCP_REPLICATION_SETUP', message: /not a logical pgoutput slot/ })
  await db.sql.query('SELECT pg_drop_replication_slot($1)', [other])
})

t.test('a table removed from the config is removed from the publication (its changes would purge everything)', async (t) => {
  await setupReplication(options({ ...tickets, peoples: ['people:{client_id}'], 'hr.events': ['attendance:{client_id}:{people_id}'] }))
  t.same(await publishedTables(), ['hr.events', 'public.peoples', 'public.y_helpdesk_ticket'])
  const report = await setupReplication(options({ ...tickets, peoples: ['people:{client_id}'] }))
  t.same(report.publication.removedTables, ['hr.events'])
  t.same(report.publication.keptTables, [])
  t.same(await publishedTables(), ['public.peoples', 'public.y_helpdesk_ticket'])
})
