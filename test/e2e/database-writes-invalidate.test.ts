import t, { type Test } from 'tap'
import { startHarness, eventually, type Harness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { createTestDatabase, type TestDatabase } from '../helpers/replication.js'

/**
 * End to end: a real Postgres with logical replication, an origin that reads that database,
 * the proxy with the contract's invalidation rules. Writes are made with SQL directly, never
 * through the proxy.
 */
async function setup(t: Test): Promise<{ h: Harness; db: TestDatabase }> {
  const db = await createTestDatabase(t, 'e2e')
  await db.sql.query(`
    CREATE TABLE peoples (id int PRIMARY KEY, client_id int NOT NULL, name text NOT NULL);
    CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int NOT NULL, reporter_id int NOT NULL, assigned_to_id int, title text NOT NULL);
    ALTER TABLE peoples REPLICA IDENTITY FULL;
    ALTER TABLE y_helpdesk_ticket REPLICA IDENTITY FULL;
    INSERT INTO peoples VALUES (1, 1, 'ann'), (2, 1, 'bob'), (3, 1, 'cid'), (4, 2, 'dan');
    INSERT INTO y_helpdesk_ticket VALUES (10, 1, 1, 2, 'printer'), (11, 2, 4, NULL, 'vpn');`)
  const extra = `invalidation:
  database: \${DATABASE_URL}
  slot: ${db.slot}
  publication: ${db.publication}
  heartbeatInterval: 200ms
  freshnessBound: 3s
  tables:
    y_helpdesk_ticket: ["tickets:{client_id}:{reporter_id}", "tickets:{client_id}:{assigned_to_id}"]
    peoples: ["people:{client_id}", "tickets:{client_id}"]
`
  const h = await startHarness(t, { extra, env: { DATABASE_URL: db.url } })
  h.origin.respond = async (req) => {
    const claims = JSON.parse(Buffer.from((req.headers.authorization ?? '').split('.')[1] ?? '', 'base64url').toString()) as { tenant: number; sub: number }
    const rows = req.url?.startsWith('/api/v2/people/')
      ? (await db.sql.query('SELECT id, name FROM peoples WHERE client_id = $1 ORDER BY id', [claims.tenant])).rows
      : (await db.sql.query('SELECT id, title FROM y_helpdesk_ticket WHERE client_id = $1 AND (reporter_id = $2 OR assigned_to_id = $2) ORDER BY id', [claims.tenant, claims.sub])).rows
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(rows) }
  }
  // Right after start the watermark is unknown: every request bypasses until the leader catches up.
  await eventually(async () => (await h.fetch('/api/v2/people/search/', { headers: bearer({ tenant: 1, sub: 1 }) })).headers.get('x-cache') !== 'BYPASS', 15_000, 'the watermark')
  return { h, db }
}


const tickets = '/api/v2/helpdesk/tickets/'
const as = (tenant: number, sub: number) => ({ headers: bearer({ tenant, sub }) })

async function cached(h: Harness, path: string, init: RequestInit): Promise<{ x: string | null; body: unknown }> {
  const res = await h.fetch(path, init)
  return { x: res.headers.get('x-cache'), body: await res.json() }
}

/** Polls until the proxy serves `expected` (a write is applied within the freshness bound). */
async function eventuallyServes(h: Harness, path: string, init: RequestInit, expected: unknown): Promise<void> {
  await eventually(async () => JSON.stringify((await cached(h, path, init)).body) === JSON.stringify(expected), 5000, `fresh data for ${path}`)
}

t.test('UPDATE, reassignment, INSERT, DELETE and TRUNCATE made with SQL invalidate exactly their entries', async (t) => {
  const { h, db } = await setup(t)
  await cached(h, tickets, as(1, 1))
  await cached(h, tickets, as(1, 2))
  await cached(h, tickets, as(2, 4))
  t.equal((await cached(h, tickets, as(1, 1))).x, 'HIT')

  await db.sql.query("UPDATE y_helpdesk_ticket SET title = 'printer on fire' WHERE id = 10")
  await eventuallyServes(h, tickets, as(1, 1), [{ id: 10, title: 'printer on fire' }])
  t.same((await cached(h, tickets, as(1, 2))).body, [{ id: 10, title: 'printer on fire' }], 'the assignee sees it too')
  t.equal((await cached(h, tickets, as(2, 4))).x, 'HIT', 'the other tenant keeps its entry')

  await cached(h, tickets, as(1, 3))
  await db.sql.query('UPDATE y_helpdesk_ticket SET assigned_to_id = 3 WHERE id = 10')
  await eventuallyServes(h, tickets, as(1, 2), [])
  await eventuallyServes(h, tickets, as(1, 3), [{ id: 10, title: 'printer on fire' }])

  await db.sql.query("INSERT INTO y_helpdesk_ticket VALUES (12, 1, 1, NULL, 'mouse')")
  await eventuallyServes(h, tickets, as(1, 1), [{ id: 10, title: 'printer on fire' }, { id: 12, title: 'mouse' }])

  await db.sql.query('DELETE FROM y_helpdesk_ticket WHERE id = 12')
  await eventuallyServes(h, tickets, as(1, 1), [{ id: 10, title: 'printer on fire' }])

  t.equal((await cached(h, tickets, as(2, 4))).x, 'HIT')
  await db.sql.query('TRUNCATE y_helpdesk_ticket')
  await eventuallyServes(h, tickets, as(2, 4), [])
  await eventuallyServes(h, tickets, as(1, 1), [])
})

t.test('a change to peoples invalidates the tenant people search and every ticket list of that tenant', async (t) => {
  const { h, db } = await setup(t)
  const people = '/api/v2/people/search/'
  await cached(h, people, as(1, 1))
  await cached(h, people, as(2, 4))
  await cached(h, tickets, as(1, 1))
  t.equal((await cached(h, people, as(1, 2))).x, 'HIT')
  await db.sql.query("UPDATE peoples SET name = 'anne' WHERE id = 1")
  await eventuallyServes(h, people, as(1, 3), [{ id: 1, name: 'anne' }, { id: 2, name: 'bob' }, { id: 3, name: 'cid' }])
  const ticketList = await h.fetch(tickets, as(1, 1))
  t.equal(ticketList.headers.get('x-cache'), 'MISS')
  t.match(ticketList.headers.get('cache-status'), /INVALIDATED/)
  t.equal((await cached(h, people, as(2, 4))).x, 'HIT')
})
