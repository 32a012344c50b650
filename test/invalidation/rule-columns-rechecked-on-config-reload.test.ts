import { writeFile } from 'node:fs/promises'
import t from 'tap'
import { waitFor } from '../helpers/replication.js'
import { createTestDatabase, loggedProxyConfig, startLoggedProxy } from '../helpers/logged-proxy.js'

/**
 * A config reload that changes the rules is checked against the columns already known,
 * without waiting for a change of the table: fixing the column name clears the finding
 * (gauge back to 0, /status empty, said in the log), and a reload that breaks it again is
 * warned at once.
 */
const routes = 'routes:\n  - { name: tickets, path: /tickets/, ttl: 10m, scope: user, tags: ["tickets:{tenant}:{user}"] }\n'
const rule = (column: string) => `    y_helpdesk_ticket: ["tickets:{client_id}:{${column}}"]\n`
const TABLE = 'public.y_helpdesk_ticket'

t.test('a reload fixing or breaking a rule column is checked against the known columns at once', async (t) => {
  const db = await createTestDatabase(t, 'reloadcol')
  await db.sql.query(`
    CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int NOT NULL, assignee_id int);
    ALTER TABLE y_helpdesk_ticket REPLICA IDENTITY FULL;`)
  const options = { db, routes, tables: rule('assigned_to_id'), admin: true }
  const { proxy, logs, admin, configFile, keyPrefix } = await startLoggedProxy(t, options)
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitFor(() => listener.status().state === 'leader', { what: 'the listener to lead' })
  t.match(listener.status().missingRuleColumns, [{ table: TABLE, missingColumns: ['assigned_to_id'] }], 'the migration ran before the proxy started')
  const gauge = async () => /ccp_rule_columns_missing\{table="public\.y_helpdesk_ticket"\} (\d+)/.exec(await (await admin('/metrics')).text())?.[1]
  t.equal(await gauge(), '1')

  await writeFile(configFile, loggedProxyConfig({ ...options, tables: rule('assignee_id'), keyPrefix }))
  t.ok((await proxy.reload()).ok, 'the fixed config reloads')
  t.same(listener.status().missingRuleColumns, [], 'fixed, without waiting for a change of the table')
  t.equal(await gauge(), '0')
  t.ok(logs.some((l) => l.level === 30 && l.table === TABLE && String(l.msg).includes('name only columns it has again')), 'said in the log')

  await writeFile(configFile, loggedProxyConfig({ ...options, tables: rule('asignee_id'), keyPrefix }))
  t.ok((await proxy.reload()).ok)
  t.match(listener.status().missingRuleColumns, [{ table: TABLE, missingColumns: ['asignee_id'], templates: [{ widensTo: 'tickets:{client_id}:*' }] }])
  t.equal(await gauge(), '1')
  const warnings = logs.filter((l) => l.level === 40 && l.table === TABLE).map((l) => l.missingColumns)
  t.same(warnings, [['assigned_to_id'], ['asignee_id']], 'one warning per finding')
})
