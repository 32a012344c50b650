import t from 'tap'
import type { AppliedTransaction, TableDriftChange } from '../../src/invalidation/replication-listener.js'
import { nextEvent } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'

/**
 * A migration renames a watched table while the proxy streams. The publication follows the
 * table (by oid), so its changes arrive under the new name; the listener recognises the oid
 * and keeps applying the table's rules (tenant 1's entry goes, tenant 2's stays), and says
 * so once where on-call looks: a warning naming both names, GET /status, the gauge
 * ccp_watched_tables_drifted{kind="renamed"}, the /readyz detail without failing it.
 */
const routes = 'routes:\n  - { name: c, path: /c/, ttl: 10m, scope: tenant, tags: ["c:{tenant}"] }\n'
const tables = '    c: ["c:{client_id}"]\n'

t.test('a table renamed mid-stream keeps its rules, and the rename is warned once, counted and shown', async (t) => {
  const db = await createTestDatabase(t, 'renametable')
  await db.sql.query(`
    CREATE TABLE c (id int PRIMARY KEY, client_id int NOT NULL, v text);
    ALTER TABLE c REPLICA IDENTITY FULL;
    INSERT INTO c VALUES (1, 1, 'a'), (2, 2, 'b');`)
  const { proxy, url, logs, admin } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  const drifts: TableDriftChange[] = []
  listener.on('tableDrift', (change) => drifts.push(change))
  await waitForCaching(url, '/c/')
  for (const tenant of [1, 2]) {
    await cacheOf(url, '/c/', tenant)
    t.equal(await cacheOf(url, '/c/', tenant), 'HIT', `tenant ${tenant} cached`)
  }

  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.length > 0)
  await db.sql.query('ALTER TABLE c RENAME TO c_renamed')
  await db.sql.query("UPDATE c_renamed SET v = 'r' WHERE client_id = 1")
  const [transaction] = await applied
  t.same(transaction.tables, ['public.c_renamed'], 'the change arrives under the new name')
  t.equal(transaction.tagCount, 1, 'c:1 only, not everything')
  t.equal(await cacheOf(url, '/c/', 1), 'MISS INVALIDATED', 'tenant 1\'s entry is invalidated')
  t.equal(await cacheOf(url, '/c/', 2), 'HIT', 'tenant 2\'s entry is kept')

  t.match(drifts, [{ kind: 'found', drift: { kind: 'renamed', table: 'public.c', renamedTo: 'public.c_renamed' } }])
  const warnings = () => logs.filter((l) => l.level === 40 && l.table === 'public.c')
  t.equal(warnings().length, 1, 'one warning')
  t.match(String(warnings()[0]?.msg), 'watched table public.c was renamed to public.c_renamed: its invalidation rules keep applying')
  const status = await (await admin('/status')).json() as { replication: { tableDrift: unknown[] } }
  t.match(status.replication.tableDrift, [{ kind: 'renamed', table: 'public.c', renamedTo: 'public.c_renamed', sinceMs: Number }])
  t.match(await (await admin('/metrics')).text(), 'ccp_watched_tables_drifted{table="public.c",kind="renamed"} 1')
  const readiness = await (await admin('/readyz')).json() as { checks: { replication: { ok: boolean; detail: string } } }
  t.equal(readiness.checks.replication.ok, true, 'a config drift, not an outage')
  t.match(readiness.checks.replication.detail, 'watched tables differ from the config: public.c renamed to public.c_renamed')

  // Another schema change re-sends the Relation message: same finding, nothing new said.
  const again = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.length > 0)
  await db.sql.query('ALTER TABLE c_renamed ADD COLUMN note text')
  await db.sql.query("UPDATE c_renamed SET note = 'n' WHERE client_id = 2")
  await again
  t.equal(await cacheOf(url, '/c/', 2), 'MISS INVALIDATED', 'the rules still apply after another ALTER')
  t.equal(warnings().length, 1, 'still one warning')
  t.equal(drifts.length, 1, 'and no new finding')
  t.equal(listener.status().state, 'leader')
})
