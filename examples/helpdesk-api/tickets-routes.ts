import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type pg from 'pg'
import type { Authenticate, HelpdeskUser } from './auth.js'
import { sendData, sendError } from './envelope.js'
import { listTickets, TICKET_PRIORITIES, TICKET_STATUSES } from './ticket-queries.js'
import { createTicket, updateTicket, type NewTicket, type TicketPatch, type WriteVerdict } from './ticket-writes.js'
import { withUser } from './with-user.js'

/**
 * The seed's `TicketListView` (GET, the cached endpoint) and the writes next to it. Paths keep
 * Django's trailing slash; the list shows tickets the caller reports or is assigned to.
 */
const TICKETS_PATH = '/api/v2/helpdesk/tickets/'

interface ListQuery { status?: string; priority?: string; search?: string; limit: number; page: number }

// An empty `?status=` means "any", as in the seed app's cache key `tickets:list:...:open::20:1`.
const listQuerySchema = {
  type: 'object',
  properties: {
    status: { enum: [...TICKET_STATUSES, ''] },
    priority: { enum: [...TICKET_PRIORITIES, ''] },
    search: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    page: { type: 'integer', minimum: 1, maximum: 100_000, default: 1 },
  },
} as const

const editableProperties = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  description: { type: 'string', maxLength: 5000 },
  priority: { enum: TICKET_PRIORITIES },
  status: { enum: TICKET_STATUSES },
  assigned_to_id: { type: ['integer', 'null'], minimum: 1, maximum: 2_147_483_647 },
} as const

const newTicketSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: { ...editableProperties, bu_id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const

const patchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { ...editableProperties, version: { type: 'integer', minimum: 1 } },
} as const

const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const

export function registerTicketRoutes(app: FastifyInstance, deps: { pool: pg.Pool; authenticate: Authenticate }): void {
  const { pool, authenticate } = deps

  app.get<{ Querystring: ListQuery }>(TICKETS_PATH, { schema: { querystring: listQuerySchema } },
    withUser(authenticate, async (request, reply, user) => {
      const { limit, page } = request.query
      const filter = {
        tenant: user.tenant, user: user.id,
        status: emptyToUndefined(request.query.status),
        priority: emptyToUndefined(request.query.priority),
        search: request.query.search,
      }
      const { results, count } = await listTickets(pool, filter, { limit, offset: (page - 1) * limit })
      return sendData(reply, request, { results, count, page, page_size: limit })
    }))

  app.post<{ Body: NewTicket }>(TICKETS_PATH, { schema: { body: newTicketSchema } },
    withUser(authenticate, async (request, reply, user) =>
      sendWriteVerdict(reply, request, await createTicket(pool, user, request.body), 201)))

  app.patch<{ Params: { id: number }; Body: TicketPatch }>(`${TICKETS_PATH}:id/`,
    { schema: { params: idParamsSchema, body: patchSchema } },
    withUser(authenticate, async (request, reply, user: HelpdeskUser) =>
      sendWriteVerdict(reply, request, await updateTicket(pool, user, request.params.id, request.body), 200)))
}

function sendWriteVerdict(reply: FastifyReply, request: FastifyRequest, verdict: WriteVerdict, okStatus: number): FastifyReply {
  if (verdict.ok) return sendData(reply, request, verdict.ticket, okStatus)
  return sendError(reply, request, verdict.status, { code: verdict.code, message: verdict.message })
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}
