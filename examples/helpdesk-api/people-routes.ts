import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { Authenticate } from './auth.js'
import { sendData } from './envelope.js'
import { makeContainsPattern } from './ticket-queries.js'
import { withUser } from './with-user.js'

/**
 * The seed's `PeopleService.search_users` behind the autocomplete: the caller's tenant's
 * active people whose username, email or name contains `q`. Same answer for everyone in the
 * tenant, which is why the proxy caches it per tenant, not per user.
 */
interface SearchQuery { q?: string; limit: number }

const searchQuerySchema = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 100 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
} as const

const SEARCH_SQL = `
  SELECT p.id, p.username, p.email, p.first_name, p.last_name,
         json_build_object('id', b.id, 'name', b.name) AS bu
  FROM peoples p
  JOIN bu b ON b.id = p.bu_id
  WHERE p.client_id = $1 AND p.is_active
    AND ($2::text IS NULL OR p.username ILIKE $2 OR p.email ILIKE $2 OR p.first_name ILIKE $2 OR p.last_name ILIKE $2)
  ORDER BY p.last_name, p.first_name, p.id
  LIMIT $3`

export function registerPeopleRoutes(app: FastifyInstance, deps: { pool: pg.Pool; authenticate: Authenticate }): void {
  app.get<{ Querystring: SearchQuery }>('/api/v2/people/search/', { schema: { querystring: searchQuerySchema } },
    withUser(deps.authenticate, async (request, reply, user) => {
      const result = await deps.pool.query(SEARCH_SQL, [user.tenant, makeContainsPattern(request.query.q), request.query.limit])
      return sendData(reply, request, { results: result.rows, count: result.rows.length, query: request.query.q ?? '' })
    }))
}
