import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import { createTestDatabase, makeRules } from '../helpers/replication.js'

/**
 * A configured table that does not exist (dropped, renamed before this start, misspelt) is
 * a warning, not a refusal: setup runs at every start of the listener, and refusing would
 * turn a migration into no invalidation at all for every table. While a configured table
 * is missing, tables no rule names stay in the publication (one may be it renamed); once
 * the config names only existing tables, setup removes them.
 */
t.test('a missing table is reported and the others are set up; unnamed tables stay published until the config is fixed', async (t) => {
  const db = await createTestDatabase(t, 'setupmissing')
  await db.sql.query(`
    CREATE TABLE a (id int PRIMARY KEY, client_id int);
    CREATE TABLE c (id int PRIMARY KEY, client_id int);`)
  const published = async (): Promise<string[]> => (await db.sql.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [db.publication])).rows.map((r) => r.name)
  const setup = (tables: Record<string, readonly string[]>) =>
    setupReplication({ sql: db.sql, slot: db.slot, publication: db.publication, tables: makeRules(tables) })

  await setup({ a: ['a:{client_id}'], c: ['c:{client_id}'] })
  await db.sql.query('ALTER TABLE c RENAME TO c_renamed')

  const report = await setup({ a: ['a:{client_id}'], c: ['c:{client_id}'], typo: ['t:{id}'] })
  t.same(report.missingTables, ['public.c', 'public.typo'])
  t.match(report.slot, { status: 'existing' }, 'the slot is kept')
  t.same(report.tables.map((table) => table.qualified), ['public.a'], 'the existing table is inspected')
  t.same(report.publication.keptTables, ['public.c_renamed'], 'the renamed table stays published')
  t.same(report.publication.removedTables, [])
  t.same(await published(), ['public.a', 'public.c_renamed'])
  const warnings = report.warnings.filter((w) => w.includes('does not exist'))
  t.equal(warnings.length, 2)
  t.match(warnings[0], /table public\.c does not exist .*the other tables keep their invalidation\. The publication keeps public\.c_renamed/)

  const fixed = await setup({ a: ['a:{client_id}'], c_renamed: ['c:{client_id}'] })
  t.same(fixed.missingTables, [])
  t.same(fixed.publication.removedTables, [], 'nothing unnamed is left')
  t.same(await published(), ['public.a', 'public.c_renamed'])

  const dropped = await setup({ a: ['a:{client_id}'] })
  t.same(dropped.publication.removedTables, ['public.c_renamed'], 'no configured table missing: the unnamed one goes')
  t.same(await published(), ['public.a'])
})
