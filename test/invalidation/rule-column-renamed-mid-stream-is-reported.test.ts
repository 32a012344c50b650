import t from 'tap'
import type { AppliedTransaction, DriftChange } from '../../src/invalidation/replication-listener.js'
import { nextEvent, waitFor } from '../helpers/replication.js'
import { createTestDatabase, startLoggedProxy } from '../helpers/logged-proxy.js'

/**
 * A migration renames a column a rule reads while the proxy streams. The rule keeps
 * invalidating, widened (tickets:{client_id}:*), and the proxy says so where on-call looks:
 * one warning naming the table, the column, the rule and its widened tag; the gauge
 * ccp_rule_columns_missing{table}; GET /status; the /readyz detail, without failing it.
 * Later Relation messages with the same finding (another ALTER) say nothing new.
 */
const routes = 'routes:\n  - { name: tickets, path: /tickets/, ttl: 10m, scope: user, tags: ["tickets:{tenant}:{user}"] }\n'
const tables = '    y_helpdesk_ticket: ["tickets:{client_id}:{reporter_id}", "tickets:{client_id}:{assigned_to_id}"]\n'
const TABLE = 'public.y_helpdesk_ticket'
const WIDENED = { template: 'tickets:{client_id}:{assigned_to_id}', missingColumns: ['assigned_to_id'], widensTo: 'tickets:{client_id}:*' }

t.test('a rule column renamed mid-stream is warned once, counted, and shown in /status and /readyz', async (t) => {
  const db = await createTestDatabase(t, 'renamecol')
  await db.sql.query(`
    CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int NOT NULL, reporter_id int, assigned_to_id int, title text);
    ALTER TABLE y_helpdesk_ticket REPLICA IDENTITY FULL;
    INSERT INTO y_helpdesk_ticket VALUES (1, 42, 7, 8, 'a');`)
  const { proxy, logs, admin } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  const changes: DriftChange[] = []
  listener.on('ruleColumns', (change) => changes.push(change))
  await waitFor(() => listener.status().state === 'leader', { what: 'the listener to lead' })
  const ticketApplied = () => nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes(TABLE))

  let applied = ticketApplied()
  await db.sql.query("UPDATE y_helpdesk_ticket SET title = 'b' WHERE id = 1")
  const [before] = await applied
  t.same(listener.status().missingRuleColumns, [], 'the schema matches the rules: nothing to say')
  t.equal(before.tagCount, 2, 'tickets:42:7 and tickets:42:8, exact')

  applied = ticketApplied()
  await db.sql.query('ALTER TABLE y_helpdesk_ticket RENAME COLUMN assigned_to_id TO assignee_id')
  await db.sql.query("UPDATE y_helpdesk_ticket SET title = 'c' WHERE id = 1")
  await applied

  t.match(changes, [{ kind: 'missing', table: { table: TABLE, missingColumns: ['assigned_to_id'], templates: [WIDENED], source: 'stream' } }])
  const warnings = logs.filter((l) => l.level === 40 && l.table === TABLE)
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0], { missingColumns: ['assigned_to_id'], templates: [WIDENED], source: 'stream' })
  t.match(String(warnings[0]?.msg), `${TABLE} has no column assigned_to_id`)
  t.match(String(warnings[0]?.msg), '"tickets:{client_id}:{assigned_to_id}" invalidates tickets:{client_id}:*')

  const metrics = await (await admin('/metrics')).text()
  t.match(metrics, `ccp_rule_columns_missing{table="${TABLE}"} 1`)
  const status = await (await admin('/status')).json() as { replication: { missingRuleColumns: unknown[] } }
  t.match(status.replication.missingRuleColumns, [{ table: TABLE, missingColumns: ['assigned_to_id'], templates: [WIDENED], source: 'stream', sinceMs: Number }])
  const readiness = await (await admin('/readyz')).json() as { checks: { replication: { ok: boolean; detail: string } } }
  t.equal(readiness.checks.replication.ok, true, 'a config drift, not an outage: readiness does not fail on it')
  t.match(readiness.checks.replication.detail, `leader; invalidation rules name missing columns, their changes invalidate widely: ${TABLE} (assigned_to_id)`)

  // Another schema change re-sends the Relation message, with the same finding: no new warning.
  applied = ticketApplied()
  await db.sql.query('ALTER TABLE y_helpdesk_ticket ADD COLUMN note text')
  await db.sql.query("UPDATE y_helpdesk_ticket SET note = 'n' WHERE id = 1")
  await applied
  t.equal(logs.filter((l) => l.level === 40 && l.table === TABLE).length, 1, 'still one warning')
  t.equal(changes.length, 1, 'and no new change')
  t.equal(listener.status().state, 'leader')
})
