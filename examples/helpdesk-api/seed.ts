import type pg from 'pg'
import { makeHelpdeskSeed, type SeedOptions, type SeedRows } from './seed-data.js'

export type SeedOutcome =
  | { readonly seeded: true; readonly counts: Record<keyof SeedRows, number> }
  | { readonly seeded: false; readonly reason: 'already-seeded' }

/**
 * Loads the deterministic seed into an empty database, in one transaction: either every row
 * is there or none is, so an interrupted run is simply repeated. A database that already has
 * clients is left alone (the demo may run many times against the same Postgres).
 */
export async function seedHelpdeskDatabase(pool: pg.Pool, options: Partial<SeedOptions> = {}): Promise<SeedOutcome> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('helpdesk-api:seed'))`)
    const existing = await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM client) AS present')
    if (existing.rows[0]?.present === true) {
      await client.query('ROLLBACK')
      return { seeded: false, reason: 'already-seeded' }
    }
    const rows = makeHelpdeskSeed(options)
    await insertRows(client, rows)
    await advanceIdentities(client)
    await client.query('COMMIT')
    return { seeded: true, counts: countRows(rows) }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw new Error('seeding the helpdesk database failed', { cause: err })
  } finally {
    client.release()
  }
}

// One INSERT ... SELECT FROM unnest(...) per table: a few round trips for thousands of rows.
async function insertRows(client: pg.PoolClient, rows: SeedRows): Promise<void> {
  await client.query(
    'INSERT INTO client (id, name) SELECT * FROM unnest($1::int[], $2::text[])',
    [rows.clients.map((r) => r.id), rows.clients.map((r) => r.name)],
  )
  await client.query(
    'INSERT INTO bu (id, client_id, name) SELECT * FROM unnest($1::int[], $2::int[], $3::text[])',
    [rows.bus.map((r) => r.id), rows.bus.map((r) => r.client_id), rows.bus.map((r) => r.name)],
  )
  await insertPeople(client, rows)
  await insertTickets(client, rows)
  await insertEvents(client, rows)
}

async function insertPeople(client: pg.PoolClient, { people }: SeedRows): Promise<void> {
  await client.query(
    `INSERT INTO peoples (id, client_id, bu_id, username, email, first_name, last_name, is_active)
     SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[])`,
    [
      people.map((r) => r.id), people.map((r) => r.client_id), people.map((r) => r.bu_id),
      people.map((r) => r.username), people.map((r) => r.email), people.map((r) => r.first_name),
      people.map((r) => r.last_name), people.map((r) => r.is_active),
    ],
  )
}

async function insertTickets(client: pg.PoolClient, { tickets }: SeedRows): Promise<void> {
  await client.query(
    `INSERT INTO y_helpdesk_ticket
       (id, client_id, bu_id, reporter_id, assigned_to_id, status, priority, title, description, created_at, updated_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::int[], $6::text[], $7::text[],
                          $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[])`,
    [
      tickets.map((r) => r.id), tickets.map((r) => r.client_id), tickets.map((r) => r.bu_id),
      tickets.map((r) => r.reporter_id), tickets.map((r) => r.assigned_to_id), tickets.map((r) => r.status),
      tickets.map((r) => r.priority), tickets.map((r) => r.title), tickets.map((r) => r.description),
      tickets.map((r) => r.created_at), tickets.map((r) => r.updated_at),
    ],
  )
}

async function insertEvents(client: pg.PoolClient, { events }: SeedRows): Promise<void> {
  await client.query(
    `INSERT INTO peopleeventlog (id, client_id, people_id, event_date, punch_in, punch_out)
     SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::date[], $5::timestamptz[], $6::timestamptz[])`,
    [
      events.map((r) => r.id), events.map((r) => r.client_id), events.map((r) => r.people_id),
      events.map((r) => r.event_date), events.map((r) => r.punch_in), events.map((r) => r.punch_out),
    ],
  )
}

// The seed writes explicit ids; move each identity past them so rows created through the API
// (POST /tickets/) do not collide with seeded ones.
async function advanceIdentities(client: pg.PoolClient): Promise<void> {
  for (const table of ['client', 'bu', 'peoples', 'y_helpdesk_ticket', 'peopleeventlog']) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST((SELECT max(id) FROM ${table}), 1))`,
      [table],
    )
  }
}

function countRows(rows: SeedRows): Record<keyof SeedRows, number> {
  return {
    clients: rows.clients.length, bus: rows.bus.length, people: rows.people.length,
    tickets: rows.tickets.length, events: rows.events.length,
  }
}
