import t from 'tap'
import { nextEvent } from '../helpers/replication.js'
import { cacheOf, createTestDatabase, startLoggedProxy, waitForCaching } from '../helpers/logged-proxy.js'
import type { AppliedTransaction } from '../../src/invalidation/replication-listener.js'

/**
 * One transaction updates 200,000 rows of a watched table (maxRowsPerTable 100) and one row
 * of another watched table. The big table collapses to its widest tag: every tenant's
 * entries of it are invalidated with a handful of tags, however many rows changed; the small
 * table keeps its precise tag (its other tenants stay cached). The transaction's tag count
 * is the bound on what the listener holds; heap figures are reported, not asserted.
 */
const ROWS = 200_000
const routes = `routes:
  - { name: big, path: /big/, ttl: 10m, scope: tenant, tags: ["big:{tenant}"] }
  - { name: small, path: /small/, ttl: 10m, scope: tenant, tags: ["small:{tenant}"] }
`
const tables = `    big: ["big:{client_id}", "big-row:{client_id}:{id}"]
    small: ["small:{client_id}"]
`

t.test(`a ${ROWS}-row UPDATE collapses to the widest tags of its table`, async (t) => {
  const db = await createTestDatabase(t, 'bigupdate')
  await db.sql.query(`
    CREATE TABLE big (id int PRIMARY KEY, client_id int NOT NULL, v int NOT NULL DEFAULT 0);
    CREATE TABLE small (id int PRIMARY KEY, client_id int NOT NULL, v int NOT NULL DEFAULT 0);
    INSERT INTO big (id, client_id) SELECT g, g % 50 FROM generate_series(1, ${ROWS}) g;
    ALTER TABLE small REPLICA IDENTITY FULL; -- so its old rows carry client_id (no widening from a missing column)
    INSERT INTO small (id, client_id) VALUES (1, 1), (2, 2);`)
  const { proxy, url } = await startLoggedProxy(t, { db, routes, tables, maxRowsPerTable: 100 })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitForCaching(url, '/big/')
  for (const [path, tenant] of [['/big/', 1], ['/big/', 2], ['/big/', 49], ['/small/', 1], ['/small/', 2]] as const) {
    await cacheOf(url, path, tenant)
    t.equal(await cacheOf(url, path, tenant), 'HIT', `${path} of tenant ${tenant} cached`)
  }

  let heapPeak = process.memoryUsage().heapUsed
  const sampler = setInterval(() => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed) }, 50)
  t.teardown(() => clearInterval(sampler))
  const heapBefore = process.memoryUsage().heapUsed
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes('public.big'), 90_000)
  const started = Date.now()
  await db.sql.query('BEGIN')
  await db.sql.query('UPDATE big SET v = v + 1')
  await db.sql.query('UPDATE small SET v = v + 1 WHERE client_id = 2')
  await db.sql.query('COMMIT')
  const committedMs = Date.now() - started
  const [transaction] = await applied
  clearInterval(sampler)

  t.equal(transaction.rowsByTable.get('public.big'), ROWS, `all ${ROWS} rows were counted`)
  t.same(transaction.collapsedTables, ['public.big'], 'the big table collapsed; the small one did not')
  t.ok(transaction.tagCount <= 3, `${transaction.tagCount} tags purged for ${ROWS + 1} row changes`)
  for (const tenant of [1, 2, 49]) t.equal(await cacheOf(url, '/big/', tenant), 'MISS INVALIDATED', `/big/ of tenant ${tenant} invalidated`)
  t.equal(await cacheOf(url, '/small/', 2), 'MISS INVALIDATED', 'the small table\'s changed tenant is invalidated')
  t.equal(await cacheOf(url, '/small/', 1), 'HIT', 'its other tenant stays cached: the small table kept precise tags')
  t.equal(listener.status().state, 'leader', 'the listener still leads')
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`
  t.comment(`commit took ${committedMs} ms; applied ${transaction.commitToPurgeMs} ms after commit; heap before ${mb(heapBefore)}, peak ${mb(heapPeak)} (test process, proxy included)`)
})
