import t from 'tap'
import type { AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import { nextEvent, waitFor } from '../helpers/replication.js'
import { createTestDatabase, startLoggedProxy } from '../helpers/logged-proxy.js'

/**
 * The config names a column the table does not have from the start (a typo, or a migration
 * that ran while the proxy was down). The listener still starts and leads, because its rules
 * still invalidate (widened); the catalog check at start reports the finding before any
 * change arrives, and the stream's Relation message later confirms it without a second warning.
 */
const routes = 'routes:\n  - { name: people, path: /people/, ttl: 10m, scope: tenant, tags: ["people:{tenant}"] }\n'
const tables = '    peoples: ["people:{client_id}", "people:{client_id}:{departement_id}"]\n'
const TABLE = 'public.peoples'
const WIDENED = { template: 'people:{client_id}:{departement_id}', missingColumns: ['departement_id'], widensTo: 'people:{client_id}:*' }

t.test('a rule naming a column the table never had: the listener leads and reports it from the catalog, then the stream', async (t) => {
  const db = await createTestDatabase(t, 'typocol')
  await db.sql.query(`
    CREATE TABLE peoples (id int PRIMARY KEY, client_id int NOT NULL, department_id int);
    ALTER TABLE peoples REPLICA IDENTITY FULL;
    INSERT INTO peoples VALUES (1, 42, 3);`)
  const { proxy, logs, admin } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitFor(() => listener.status().state === 'leader', { timeoutMs: 10_000, what: `the listener to lead (last error: ${listener.status().lastError ?? 'none'})` })

  t.match(listener.status().missingRuleColumns, [{ table: TABLE, missingColumns: ['departement_id'], templates: [WIDENED], source: 'catalog' }],
    'known at start, before any change of the table')
  t.match(await (await admin('/metrics')).text(), `ccp_rule_columns_missing{table="${TABLE}"} 1`)
  const readiness = await (await admin('/readyz')).json() as { checks: { replication: { ok: boolean; detail: string } } }
  t.match(readiness.checks.replication, { ok: true, detail: `${TABLE} (departement_id)` })

  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes(TABLE))
  await db.sql.query('UPDATE peoples SET department_id = 4 WHERE id = 1')
  await applied
  t.match(listener.status().missingRuleColumns, [{ table: TABLE, source: 'stream' }], 'the Relation message confirms it')
  const warnings = logs.filter((l) => l.level === 40 && l.table === TABLE)
  t.equal(warnings.length, 1, 'said once, not again when the stream described the table')
  t.match(String(warnings[0]?.msg), '"people:{client_id}:{departement_id}" invalidates people:{client_id}:*')
})

