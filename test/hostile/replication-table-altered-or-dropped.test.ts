import t from 'tap'
import { setupReplication } from '../../src/invalidation/setup-replication.js'
import { makeRules, waitFor } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'

/**
 * Migrations on watched tables while the proxy runs: ADD COLUMN, RENAME COLUMN (the very
 * column a rule reads), RENAME TABLE and DROP TABLE. The listener survives each and keeps
 * invalidating the other tables; a rule whose column disappeared widens (every tenant's
 * entries of that table) instead of skipping. A renamed table keeps its rules (the stream
 * names it anew under the same oid), and the next start after a RENAME or a DROP leads,
 * with warnings, instead of refusing.
 */
const routes = `routes:
  - { name: a, path: /a/, ttl: 10m, scope: tenant, tags: ["a:{tenant}"] }
  - { name: b, path: /b/, ttl: 10m, scope: tenant, tags: ["b:{tenant}"] }
  - { name: c, path: /c/, ttl: 10m, scope: tenant, tags: ["c:{tenant}"] }
`
const tables = `    a: ["a:{client_id}"]
    b: ["b:{client_id}"]
    c: ["c:{client_id}"]
`

t.test('the listener survives ALTER and DROP of watched tables and keeps invalidating the others', async (t) => {
  const db = await createTestDatabase(t, 'alter')
  await db.sql.query(`
    CREATE TABLE a (id int PRIMARY KEY, client_id int NOT NULL, v text);
    CREATE TABLE b (id int PRIMARY KEY, client_id int NOT NULL, v text);
    CREATE TABLE c (id int PRIMARY KEY, client_id int NOT NULL, v text);
    ALTER TABLE a REPLICA IDENTITY FULL; ALTER TABLE b REPLICA IDENTITY FULL; ALTER TABLE c REPLICA IDENTITY FULL;
    INSERT INTO a VALUES (1, 1, 'a1'), (2, 2, 'a2'); INSERT INTO b VALUES (1, 1, 'b1'), (2, 2, 'b2'); INSERT INTO c VALUES (1, 1, 'c1'), (2, 2, 'c2');`)
  const { proxy, url, logs } = await startLoggedProxy(t, { db, routes, tables })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  const states: string[] = []
  listener.on('state', (s) => states.push(s))
  await waitForCaching(url, '/a/')
  const report: string[] = []

  async function cache(path: string, tenant: number): Promise<void> {
    await waitFor(async () => (await cacheOf(url, path, tenant)) === 'HIT', { timeoutMs: 10_000, what: `${path} of ${tenant} cached` })
  }
  /** After a write: whether the entry turned into an INVALIDATED miss within the deadline. */
  async function invalidated(path: string, tenant: number): Promise<boolean> {
    return waitFor(async () => (await cacheOf(url, path, tenant)) === 'MISS INVALIDATED', { timeoutMs: 8000, what: `${path} of ${tenant} invalidated` }).then(() => true, () => false)
  }
  async function step(name: string, ddl: string, write: string, expectations: { path: string; tenant: number; invalidated: boolean | 'report' }[]): Promise<void> {
    for (const e of expectations) await cache(e.path, e.tenant)
    if (ddl) await db.sql.query(ddl)
    await db.sql.query(write)
    const first = expectations[0] as { path: string; tenant: number }
    const firstInvalidated = await invalidated(first.path, first.tenant)
    const outcomes = [`${first.path}${first.tenant}=${firstInvalidated ? 'invalidated' : 'kept'}`]
    if (expectations[0]?.invalidated !== 'report') t.equal(firstInvalidated, expectations[0]?.invalidated, `${name}: ${first.path} of tenant ${first.tenant} ${expectations[0]?.invalidated ? 'invalidated' : 'kept'}`)
    for (const e of expectations.slice(1)) {
      const now = await cacheOf(url, e.path, e.tenant)
      outcomes.push(`${e.path}${e.tenant}=${now === 'HIT' ? 'kept' : now}`)
      if (e.invalidated !== 'report') t.equal(now === 'MISS INVALIDATED', e.invalidated, `${name}: ${e.path} of tenant ${e.tenant} ${e.invalidated ? 'invalidated' : 'kept'} (${now})`)
    }
    report.push(`${name}: ${outcomes.join(', ')}`)
  }

  await step('baseline UPDATE a', '', "UPDATE a SET v = 'x' WHERE client_id = 1", [{ path: '/a/', tenant: 1, invalidated: true }, { path: '/a/', tenant: 2, invalidated: false }])
  await step('ADD COLUMN', "ALTER TABLE a ADD COLUMN note text DEFAULT 'n'", "UPDATE a SET note = 'y' WHERE client_id = 1", [{ path: '/a/', tenant: 1, invalidated: true }, { path: '/a/', tenant: 2, invalidated: false }])
  await step('b after ADD COLUMN on a', '', "UPDATE b SET v = 'y' WHERE client_id = 1", [{ path: '/b/', tenant: 1, invalidated: true }, { path: '/b/', tenant: 2, invalidated: false }])
  await step('RENAME COLUMN client_id (the rule\'s column)', 'ALTER TABLE a RENAME COLUMN client_id TO tenant_ref', "UPDATE a SET v = 'z' WHERE tenant_ref = 1",
    [{ path: '/a/', tenant: 1, invalidated: true }, { path: '/a/', tenant: 2, invalidated: 'report' }])
  await step('b after RENAME COLUMN on a', '', "UPDATE b SET v = 'z' WHERE client_id = 2", [{ path: '/b/', tenant: 2, invalidated: true }, { path: '/b/', tenant: 1, invalidated: false }])
  await step('RENAME TABLE c', 'ALTER TABLE c RENAME TO c_renamed', "UPDATE c_renamed SET v = 'r' WHERE client_id = 1",
    [{ path: '/c/', tenant: 1, invalidated: true }, { path: '/c/', tenant: 2, invalidated: false }])
  await step('DROP TABLE a, then UPDATE b', 'DROP TABLE a', "UPDATE b SET v = 'w' WHERE client_id = 1",
    [{ path: '/b/', tenant: 1, invalidated: true }, { path: '/b/', tenant: 2, invalidated: false }, { path: '/a/', tenant: 2, invalidated: 'report' }])

  t.equal(listener.status().state, 'leader', 'the listener still leads')
  t.comment(report.join('\n'))
  t.comment(`listener states: ${states.join(' > ') || '(no change: leader throughout)'}; last error: ${listener.status().lastError ?? 'none'}`)
  const warnings = logs.filter((l) => Number(l.level) >= 40).map((l) => `${String(l.msg)}${l.table ? ` (${String(l.table)})` : ''}${l.op ? ` (${String(l.op)}: ${String((l.err as { message?: string } | undefined)?.message)})` : ''}`)
  t.comment(`warnings logged: ${[...new Set(warnings)].join('; ') || 'none'}`)

  // What the next start of a proxy with this config would say (the same checks run at every start).
  const next = await setupReplication({ sql: db.sql, slot: db.slot, publication: db.publication, tables: makeRules({ a: ['a:{client_id}'], b: ['b:{client_id}'], c: ['c:{client_id}'] }) })
  t.same(next.missingTables, ['public.a', 'public.c'], 'a proxy started now leads, warning of the dropped and the renamed table')
  t.same(next.publication.keptTables, ['public.c_renamed'], 'and keeps the renamed table published')
})
