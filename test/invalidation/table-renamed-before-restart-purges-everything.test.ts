import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import type { AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import { makeRules, nextEvent, waitFor } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'

/**
 * A watched table was renamed while no proxy ran. At start its configured name does not
 * exist (a warning: the listener leads and the other tables keep their invalidation), and
 * the renamed table stays in the publication. Its changes arrive under a name no rule names
 * and an oid the proxy never knew: it cannot tell which entries they affect, so each purges
 * every cached entry, warned once, in /status and in the gauge, rather than invalidating
 * nothing and serving that table's entries stale until their TTL.
 */
const routes = `routes:
  - { name: a, path: /a/, ttl: 10m, scope: tenant, tags: ["a:{tenant}"] }
  - { name: c, path: /c/, ttl: 10m, scope: tenant, tags: ["c:{tenant}"] }
`
const tables = '    a: ["a:{client_id}"]\n    c: ["c:{client_id}"]\n'

t.test('after a restart, a renamed table\'s change purges every entry, and both findings are said', async (t) => {
  const db = await createTestDatabase(t, 'renamerestart')
  await db.sql.query(`
    CREATE TABLE a (id int PRIMARY KEY, client_id int NOT NULL, v text);
    CREATE TABLE c (id int PRIMARY KEY, client_id int NOT NULL, v text);
    ALTER TABLE a REPLICA IDENTITY FULL; ALTER TABLE c REPLICA IDENTITY FULL;
    INSERT INTO a VALUES (1, 1, 'a'), (2, 2, 'b'); INSERT INTO c VALUES (1, 1, 'a'), (2, 2, 'b');`)
  await setupReplication({ sql: db.sql, slot: db.slot, publication: db.publication, tables: makeRules({ a: ['a:{client_id}'], c: ['c:{client_id}'] }) })
  await db.sql.query('ALTER TABLE c RENAME TO c_renamed') // while no proxy runs

  const { proxy, url, logs, admin } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitFor(() => listener.status().state === 'leader', { what: 'the listener to lead despite the missing table' })
  await waitForCaching(url, '/a/')
  t.match(listener.status().tableDrift, [{ kind: 'missing', table: 'public.c' }])

  const entries = [['/a/', 1], ['/a/', 2], ['/c/', 1], ['/c/', 2]] as const
  for (const [path, tenant] of entries) {
    await cacheOf(url, path, tenant)
    t.equal(await cacheOf(url, path, tenant), 'HIT', `${path} of tenant ${tenant} cached`)
  }
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tagCount > 0)
  await db.sql.query("UPDATE c_renamed SET v = 'r' WHERE client_id = 1")
  await applied
  for (const [path, tenant] of entries) t.equal(await cacheOf(url, path, tenant), 'MISS INVALIDATED', `${path} of tenant ${tenant} purged`)

  const unknown = logs.filter((l) => l.level === 40 && l.table === 'public.c_renamed')
  t.equal(unknown.length, 1, 'one warning for the unknown table')
  t.match(String(unknown[0]?.msg), 'each of its changes purges EVERY cached entry')
  t.ok(logs.some((l) => l.level === 40 && String(l.msg).includes('table public.c does not exist')), 'the missing table is warned')
  const status = await (await admin('/status')).json() as { replication: { tableDrift: unknown[]; state: string } }
  t.match(status.replication.tableDrift, [{ kind: 'missing', table: 'public.c' }, { kind: 'unknown', table: 'public.c_renamed' }])
  const metrics = await (await admin('/metrics')).text()
  t.match(metrics, 'ccp_watched_tables_drifted{table="public.c",kind="missing"} 1')
  t.match(metrics, 'ccp_watched_tables_drifted{table="public.c_renamed",kind="unknown"} 1')

  // A second change: purges again, says nothing new.
  for (const [path, tenant] of entries) await waitFor(async () => (await cacheOf(url, path, tenant)) === 'HIT', { what: `${path} of ${tenant} cached again` })
  const second = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tagCount > 0)
  await db.sql.query("UPDATE c_renamed SET v = 's' WHERE client_id = 2")
  await second
  t.equal(await cacheOf(url, '/a/', 1), 'MISS INVALIDATED', 'purged again')
  t.equal(logs.filter((l) => l.level === 40 && l.table === 'public.c_renamed').length, 1, 'still one warning')
  t.equal(listener.status().state, 'leader')
})
