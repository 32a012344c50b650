import type pg from 'pg'
import type { HelpdeskUser } from './auth.js'
import { findTicket, type TicketJson } from './ticket-queries.js'

/**
 * Writes to y_helpdesk_ticket made through the app, as the seed's Django views do. Every
 * UPDATE bumps `version`, so tests and the history checker can tell which write a read saw.
 */
export type WriteVerdict =
  | { readonly ok: true; readonly ticket: TicketJson }
  | { readonly ok: false; readonly status: 400 | 404 | 409; readonly code: string; readonly message: string }

export interface NewTicket {
  readonly title: string
  readonly description?: string
  readonly priority?: string
  readonly status?: string
  readonly assigned_to_id?: number | null
  readonly bu_id?: number
}

export interface TicketPatch {
  readonly title?: string
  readonly description?: string
  readonly priority?: string
  readonly status?: string
  readonly assigned_to_id?: number | null
  /** Optimistic concurrency: when given, the update applies only to this version (else 409). */
  readonly version?: number
}

const EDITABLE_COLUMNS = ['title', 'description', 'priority', 'status', 'assigned_to_id'] as const

export async function createTicket(pool: pg.Pool, user: HelpdeskUser, input: NewTicket): Promise<WriteVerdict> {
  const refused = await checkReferences(pool, user.tenant, input)
  if (refused !== undefined) return refused
  const assignee = input.assigned_to_id ?? null
  const inserted = await pool.query<{ id: number }>(
    `INSERT INTO y_helpdesk_ticket (client_id, bu_id, reporter_id, assigned_to_id, status, priority, title, description)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [user.tenant, input.bu_id ?? user.buId, user.id, assignee, input.status ?? (assignee === null ? 'new' : 'open'),
      input.priority ?? 'P3', input.title, input.description ?? ''],
  )
  return readBack(pool, user.tenant, inserted.rows[0]?.id)
}

export async function updateTicket(pool: pg.Pool, user: HelpdeskUser, id: number, patch: TicketPatch): Promise<WriteVerdict> {
  const refused = await checkReferences(pool, user.tenant, patch)
  if (refused !== undefined) return refused
  const columns = EDITABLE_COLUMNS.filter((column) => patch[column] !== undefined)
  if (columns.length === 0) return badRequest('EMPTY_UPDATE', 'Nothing to update.')
  const values: unknown[] = [id, user.tenant, user.id, ...columns.map((column) => patch[column])]
  const assignments = columns.map((column, i) => `${column} = $${i + 4}`)
  const versionCheck = patch.version === undefined ? '' : ` AND version = $${values.push(patch.version)}`
  const updated = await pool.query<{ id: number }>(
    `UPDATE y_helpdesk_ticket SET ${assignments.join(', ')}, version = version + 1, updated_at = now()
     WHERE id = $1 AND client_id = $2 AND (reporter_id = $3 OR assigned_to_id = $3)${versionCheck} RETURNING id`,
    values,
  )
  if (updated.rowCount === 1) return readBack(pool, user.tenant, id)
  return explainNoUpdate(pool, user, id)
}

// Another tenant's ticket and a ticket the user cannot see both answer 404, so ids of other
// tenants cannot be probed; a visible ticket that did not match must have changed version.
async function explainNoUpdate(pool: pg.Pool, user: HelpdeskUser, id: number): Promise<WriteVerdict> {
  const visible = await pool.query(
    'SELECT 1 FROM y_helpdesk_ticket WHERE id = $1 AND client_id = $2 AND (reporter_id = $3 OR assigned_to_id = $3)',
    [id, user.tenant, user.id],
  )
  return visible.rowCount === 0
    ? { ok: false, status: 404, code: 'NOT_FOUND', message: 'Ticket not found.' }
    : { ok: false, status: 409, code: 'VERSION_CONFLICT', message: 'The ticket was changed by someone else; reload it.' }
}

async function checkReferences(
  pool: pg.Pool, tenant: number, input: { assigned_to_id?: number | null; bu_id?: number },
): Promise<WriteVerdict | undefined> {
  if (input.assigned_to_id !== undefined && input.assigned_to_id !== null) {
    const person = await pool.query('SELECT 1 FROM peoples WHERE id = $1 AND client_id = $2 AND is_active', [input.assigned_to_id, tenant])
    if (person.rowCount === 0) return badRequest('INVALID_ASSIGNEE', 'assigned_to_id is not an active person of this client.')
  }
  if (input.bu_id !== undefined) {
    const bu = await pool.query('SELECT 1 FROM bu WHERE id = $1 AND client_id = $2', [input.bu_id, tenant])
    if (bu.rowCount === 0) return badRequest('INVALID_BU', 'bu_id is not a business unit of this client.')
  }
  return undefined
}

async function readBack(pool: pg.Pool, tenant: number, id: number | undefined): Promise<WriteVerdict> {
  const ticket = id === undefined ? undefined : await findTicket(pool, tenant, id)
  if (ticket === undefined) throw new Error(`ticket ${String(id)} vanished right after it was written`)
  return { ok: true, ticket }
}

function badRequest(code: string, message: string): WriteVerdict {
  return { ok: false, status: 400, code, message }
}
