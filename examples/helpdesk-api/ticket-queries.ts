import type pg from 'pg'

/** Reads of y_helpdesk_ticket joined with the people and business unit it refers to. */

export const TICKET_STATUSES = ['new', 'open', 'onhold', 'resolved', 'closed', 'cancelled'] as const
export const TICKET_PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const

export interface PersonSummary {
  readonly id: number
  readonly username: string
  readonly first_name: string
  readonly last_name: string
  readonly full_name: string
  readonly email: string
}

export interface TicketJson {
  readonly id: number
  readonly title: string
  readonly description: string
  readonly status: string
  readonly priority: string
  readonly version: number
  readonly client_id: number
  readonly bu: { readonly id: number; readonly name: string }
  readonly reporter: PersonSummary
  readonly assigned_to: PersonSummary | null
  readonly created_at: string
  readonly updated_at: string
}

/** The ticket list's filter: always a tenant and a user, the rest optional. */
export interface TicketFilter {
  readonly tenant: number
  readonly user: number
  readonly status: string | undefined
  readonly priority: string | undefined
  readonly search: string | undefined
}

// Reporter and assignee come back as JSON objects built by Postgres, the shape the Django
// serializer nests; the outer columns stay typed.
const TICKET_COLUMNS = `
  t.id, t.title, t.description, t.status, t.priority, t.version, t.client_id, t.created_at, t.updated_at,
  json_build_object('id', b.id, 'name', b.name) AS bu,
  ${personObject('r')} AS reporter,
  CASE WHEN a.id IS NULL THEN NULL ELSE ${personObject('a')} END AS assigned_to`

const TICKET_JOINS = `
  FROM y_helpdesk_ticket t
  JOIN bu b ON b.id = t.bu_id
  JOIN peoples r ON r.id = t.reporter_id
  LEFT JOIN peoples a ON a.id = t.assigned_to_id`

// $1 tenant, $2 user, $3 status, $4 priority, $5 ILIKE pattern (NULL = no filter).
const VISIBLE_TO_USER = `
  WHERE t.client_id = $1 AND (t.reporter_id = $2 OR t.assigned_to_id = $2)
    AND ($3::text IS NULL OR t.status = $3)
    AND ($4::text IS NULL OR t.priority = $4)
    AND ($5::text IS NULL OR t.title ILIKE $5 OR t.description ILIKE $5)`

function personObject(alias: string): string {
  return `json_build_object('id', ${alias}.id, 'username', ${alias}.username, 'first_name', ${alias}.first_name,
    'last_name', ${alias}.last_name, 'full_name', ${alias}.first_name || ' ' || ${alias}.last_name, 'email', ${alias}.email)`
}

interface TicketRow extends Omit<TicketJson, 'created_at' | 'updated_at'> {
  readonly created_at: Date
  readonly updated_at: Date
}

function toTicketJson(row: TicketRow): TicketJson {
  return { ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() }
}

/** Turns user text into an ILIKE pattern that matches it literally (% and _ escaped). */
export function makeContainsPattern(text: string | undefined): string | null {
  if (text === undefined || text.trim() === '') return null
  return `%${text.trim().replace(/[\\%_]/g, (c) => '\\' + c)}%`
}

function filterValues(filter: TicketFilter): unknown[] {
  return [filter.tenant, filter.user, filter.status ?? null, filter.priority ?? null, makeContainsPattern(filter.search)]
}

export async function listTickets(
  pool: pg.Pool, filter: TicketFilter, page: { limit: number; offset: number },
): Promise<{ results: TicketJson[]; count: number }> {
  const values = filterValues(filter)
  const [rows, total] = await Promise.all([
    pool.query<TicketRow>(
      `SELECT ${TICKET_COLUMNS} ${TICKET_JOINS} ${VISIBLE_TO_USER}
       ORDER BY t.created_at DESC, t.id DESC LIMIT $6 OFFSET $7`,
      [...values, page.limit, page.offset],
    ),
    pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM y_helpdesk_ticket t ${VISIBLE_TO_USER}`, values),
  ])
  return { results: rows.rows.map(toTicketJson), count: total.rows[0]?.count ?? 0 }
}

/** One ticket of the tenant, whoever reports or handles it (used after a write). */
export async function findTicket(pool: pg.Pool, tenant: number, id: number): Promise<TicketJson | undefined> {
  const result = await pool.query<TicketRow>(
    `SELECT ${TICKET_COLUMNS} ${TICKET_JOINS} WHERE t.client_id = $1 AND t.id = $2`, [tenant, id],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toTicketJson(row)
}
