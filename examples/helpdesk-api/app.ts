import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type pg from 'pg'
import { registerAttendanceRoutes } from './attendance-routes.js'
import { makeAuthenticator } from './auth.js'
import { sendError, sendJson } from './envelope.js'
import { registerPeopleRoutes } from './people-routes.js'
import { registerTicketRoutes } from './tickets-routes.js'

export interface HelpdeskAppOptions {
  readonly pool: pg.Pool
  readonly jwtSecret: string
  readonly logger?: FastifyServerOptions['logger']
}

/**
 * Builds (does not listen) the example API. Its headers imitate what Django + DRF send, since
 * the proxy must reproduce them byte for byte on a HIT: `Vary: Accept` from DRF's content
 * negotiation, Django's SecurityMiddleware headers, and never a Set-Cookie.
 */
export function buildHelpdeskApp(options: HelpdeskAppOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: 'idle' })
  const deps = { pool: options.pool, authenticate: makeAuthenticator({ jwtSecret: options.jwtSecret, pool: options.pool }) }

  app.addHook('onSend', async (_request, reply) => {
    reply.header('vary', 'Accept')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'same-origin')
    reply.header('cross-origin-opener-policy', 'same-origin')
    reply.header('x-frame-options', 'DENY')
  })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({ err: error }, 'request failed')
    const code = error.validation !== undefined ? 'VALIDATION_ERROR' : status === 500 ? 'SERVER_ERROR' : (error.code ?? 'BAD_REQUEST')
    // A 500 says nothing about its cause: SQL errors can name tables and values.
    const message = status === 500 ? 'A server error occurred.' : error.message
    return sendError(reply, request, status, { code, message })
  })
  app.setNotFoundHandler((request, reply) => sendError(reply, request, 404, { code: 'NOT_FOUND', message: 'Not found.' }))

  app.get('/healthz', async (request, reply) => {
    await options.pool.query('SELECT 1')
    return sendJson(reply, 200, { status: 'ok' })
  })
  registerTicketRoutes(app, deps)
  registerPeopleRoutes(app, deps)
  registerAttendanceRoutes(app, deps)
  return app
}
