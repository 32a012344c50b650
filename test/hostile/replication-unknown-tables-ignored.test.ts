import t from 'tap'
import { waitFor } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'
import type { AppliedTransaction } from '../../src/invalidation/replication-listener.js'

/**
 * The publication carries more than the config names (created beforehand FOR ALL TABLES,
 * and a table added to it later): changes of those tables invalidate nothing, are said once
 * in the log per table, and neither stop the listener nor hide the changes of the watched
 * table that share their transaction.
 */
const routes = 'routes:\n  - { name: known, path: /known/, ttl: 10m, scope: tenant, tags: ["known:{tenant}"] }\n'
const tables = '    known: ["known:{client_id}"]\n'

t.test('unknown tables in the publication are ignored, said once, and harmless', async (t) => {
  const db = await createTestDatabase(t, 'unknown')
  await db.sql.query(`
    CREATE TABLE known (id int PRIMARY KEY, client_id int NOT NULL, v int NOT NULL DEFAULT 0);
    CREATE TABLE stranger (id int PRIMARY KEY, client_id int NOT NULL, v int NOT NULL DEFAULT 0);
    CREATE SCHEMA other; CREATE TABLE other.known (id int PRIMARY KEY, client_id int NOT NULL, v int NOT NULL DEFAULT 0);
    ALTER TABLE known REPLICA IDENTITY FULL;
    INSERT INTO known VALUES (1, 1), (2, 2); INSERT INTO stranger VALUES (1, 1), (2, 2); INSERT INTO other.known VALUES (1, 1), (2, 2);
    CREATE PUBLICATION ${db.publication} FOR ALL TABLES;`)
  const { proxy, url, logs } = await startLoggedProxy(t, { db, routes, tables })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  const applied: AppliedTransaction[] = []
  listener.on('applied', (a) => { if (a.heartbeatMs === undefined) applied.push(a) })
  await waitForCaching(url, '/known/')
  for (const tenant of [1, 2]) {
    await cacheOf(url, '/known/', tenant)
    t.equal(await cacheOf(url, '/known/', tenant), 'HIT')
  }

  for (let i = 0; i < 3; i++) {
    await db.sql.query('UPDATE stranger SET v = v + 1')
    await db.sql.query('UPDATE other.known SET v = v + 1 WHERE client_id = 1') // same table name, another schema
    await db.sql.query('CREATE TABLE IF NOT EXISTS late (id int PRIMARY KEY, client_id int); INSERT INTO late VALUES ($1, 1)'.replace('$1', String(i)))
  }
  await waitFor(() => applied.length >= 9, { timeoutMs: 20_000, what: 'the stranger transactions to be applied' })
  t.same([...new Set(applied.flatMap((a) => a.tables))], [], 'those transactions touched no watched table')
  t.equal(applied.reduce((n, a) => n + a.tagCount, 0), 0, 'and purged nothing')
  for (const tenant of [1, 2]) t.equal(await cacheOf(url, '/known/', tenant), 'HIT', `tenant ${tenant} keeps its entry`)

  await db.sql.query('BEGIN')
  await db.sql.query('UPDATE stranger SET v = v + 1 WHERE client_id = 1')
  await db.sql.query('UPDATE known SET v = v + 1 WHERE client_id = 1')
  await db.sql.query('UPDATE other.known SET v = v + 1 WHERE client_id = 2')
  await db.sql.query('COMMIT')
  await waitFor(async () => (await cacheOf(url, '/known/', 1)) === 'MISS INVALIDATED', { timeoutMs: 10_000, what: 'the watched change in a mixed transaction' })
  t.equal(await cacheOf(url, '/known/', 2), 'HIT', 'only the watched row\'s tenant is invalidated')
  t.equal(listener.status().state, 'leader', 'the listener still leads')
  t.equal(listener.status().lastError, null, 'without any error')

  const said = logs.filter((l) => String(l.msg).includes('no rule names')).map((l) => String(l.table))
  t.same([...said].sort(), ['other.known', 'public.late', 'public.stranger'], `each unknown table is said once: ${said.join(', ')}`)
})
