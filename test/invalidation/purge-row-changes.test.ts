import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener, type AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import { createTestDatabase, makeConfig, makeTestStore, nextEvent, stampsAlive, testLog } from '../helpers/replication.js'

/**
 * INSERT, UPDATE (moving a ticket to another tenant and assignee), DELETE and TRUNCATE,
 * written with plain SQL as any client would, delete exactly the stamps of the tags their
 * rows produce: the entries of every other tenant and user keep theirs.
 */
const db = await createTestDatabase(t, 'purge')
await db.sql.query(`
  CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int, reporter_id int, assigned_to_id int, title text);
  ALTER TABLE y_helpdesk_ticket REPLICA IDENTITY FULL;
  CREATE TABLE peoples (id int PRIMARY KEY, client_id int, name text);`)
const store = await makeTestStore(t, 'purge')
const config = makeConfig(db, {
  y_helpdesk_ticket: ['tickets:{client_id}:{reporter_id}', 'tickets:{client_id}:{assigned_to_id}'],
  peoples: ['people:{client_id}'],
})
const listener = new ReplicationListener({ config, store, clock: systemClock, log: testLog() })
t.teardown(() => listener.stop())
const leader = nextEvent(listener, 'state', (state) => state === 'leader')
listener.start()
await leader

const ALL = ['tickets:42:7', 'tickets:42:8', 'tickets:42:9', 'tickets:43:7', 'tickets:43:9', 'tickets:44:7',
  'tickets:42:*', 'tickets:*', 'people:42', 'people:43', 'people:*', '*']

/** Fresh stamps for every tag, the statement, its applied transaction, and which tags died. */
async function run(statement: string, table: string): Promise<{ dead: string[]; applied: AppliedTransaction }> {
  await store.acquireStamps(ALL)
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes(table))
  await db.sql.query(statement)
  const [transaction] = await applied
  const alive = await stampsAlive(store, ALL)
  return { dead: ALL.filter((tag) => !alive[tag]), applied: transaction }
}

t.test('INSERT invalidates the new row tags only', async (t) => {
  const { dead, applied } = await run('INSERT INTO y_helpdesk_ticket VALUES (1, 42, 7, 8, $$a$$)', 'public.y_helpdesk_ticket')
  t.same(dead, ['tickets:42:7', 'tickets:42:8'])
  t.equal(applied.tagCount, 2)
  t.ok(applied.commitToPurgeMs >= 0 && applied.commitToPurgeMs < 10_000, `commit to purge ${applied.commitToPurgeMs} ms`)
})

t.test('UPDATE moving a ticket to another tenant and assignee invalidates old and new', async (t) => {
  const { dead } = await run('UPDATE y_helpdesk_ticket SET client_id = 43, assigned_to_id = 9 WHERE id = 1', 'public.y_helpdesk_ticket')
  t.same(dead, ['tickets:42:7', 'tickets:42:8', 'tickets:43:7', 'tickets:43:9'])
})

t.test('DELETE invalidates the old row tags', async (t) => {
  const { dead } = await run('DELETE FROM y_helpdesk_ticket WHERE id = 1', 'public.y_helpdesk_ticket')
  t.same(dead, ['tickets:43:7', 'tickets:43:9'])
})

t.test('UPDATE under REPLICA IDENTITY DEFAULT widens the unknown old tenant', async (t) => {
  await run('INSERT INTO peoples VALUES (1, 42, $$Ann$$)', 'public.peoples')
  const { dead } = await run('UPDATE peoples SET name = $$Anne$$ WHERE id = 1', 'public.peoples')
  t.same(dead, ['people:42', 'people:*'], 'the new tenant exactly, and every tenant for the unknown old one')
})

t.test('TRUNCATE invalidates everything derived from the table, and only that', async (t) => {
  await run('INSERT INTO y_helpdesk_ticket VALUES (2, 44, 7, NULL, $$b$$)', 'public.y_helpdesk_ticket')
  const { dead } = await run('TRUNCATE y_helpdesk_ticket', 'public.y_helpdesk_ticket')
  t.same(dead, ['tickets:*'])
})

t.test('the status counts what was applied', async (t) => {
  const status = listener.status()
  t.equal(status.state, 'leader')
  t.match(status.byTable, { 'public.y_helpdesk_ticket': { transactions: 5, rows: 5 }, 'public.peoples': { transactions: 2, rows: 2 } })
  t.match(status.lastAppliedLsn, /^[0-9A-F]+\/[0-9A-F]+$/)
  t.ok(status.tagsPurged >= 12)
})
