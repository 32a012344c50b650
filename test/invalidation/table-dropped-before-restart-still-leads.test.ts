import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import { makeRules, waitFor } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'

/**
 * A watched table was dropped by a migration. The next start used to refuse ("table does not
 * exist"): the listener never led and every replica bypassed the cache for every table. Now
 * the missing table is a warning (log, /status, gauge) and the others keep invalidating.
 */
const routes = `routes:
  - { name: a, path: /a/, ttl: 10m, scope: tenant, tags: ["a:{tenant}"] }
  - { name: b, path: /b/, ttl: 10m, scope: tenant, tags: ["b:{tenant}"] }
`
const tables = '    a: ["a:{client_id}"]\n    b: ["b:{client_id}"]\n'

t.test('after a DROP of a watched table the listener leads, warns, and the other tables keep invalidating', async (t) => {
  const db = await createTestDatabase(t, 'droprestart')
  await db.sql.query(`
    CREATE TABLE a (id int PRIMARY KEY, client_id int NOT NULL, v text);
    CREATE TABLE b (id int PRIMARY KEY, client_id int NOT NULL, v text);
    ALTER TABLE b REPLICA IDENTITY FULL;
    INSERT INTO b VALUES (1, 1, 'a'), (2, 2, 'b');`)
  await setupReplication({ sql: db.sql, slot: db.slot, publication: db.publication, tables: makeRules({ a: ['a:{client_id}'], b: ['b:{client_id}'] }) })
  await db.sql.query('DROP TABLE a')

  const { proxy, url, logs, admin } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitFor(() => listener.status().state === 'leader', { what: 'the listener to lead' })
  await waitForCaching(url, '/b/')
  for (const tenant of [1, 2]) {
    await cacheOf(url, '/b/', tenant)
    t.equal(await cacheOf(url, '/b/', tenant), 'HIT', `/b/ of tenant ${tenant} cached, not bypassed`)
  }
  await db.sql.query("UPDATE b SET v = 'x' WHERE client_id = 1")
  await waitFor(async () => (await cacheOf(url, '/b/', 1)) === 'MISS INVALIDATED', { timeoutMs: 10_000, what: 'b of tenant 1 invalidated' })
  t.equal(await cacheOf(url, '/b/', 2), 'HIT', 'tenant 2 keeps its entry')

  t.ok(logs.some((l) => l.level === 40 && String(l.msg).includes('table public.a does not exist')), 'the missing table is warned')
  t.notOk(logs.some((l) => l.msg === 'replication setup failed, retrying'), 'setup did not fail')
  t.match(listener.status().tableDrift, [{ kind: 'missing', table: 'public.a' }])
  t.match(await (await admin('/metrics')).text(), 'ccp_watched_tables_drifted{table="public.a",kind="missing"} 1')
  t.equal(listener.status().lastError, null)
})
