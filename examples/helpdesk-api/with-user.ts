import type { FastifyReply, FastifyRequest, RouteGenericInterface } from 'fastify'
import type { Authenticate, HelpdeskUser } from './auth.js'
import { sendError } from './envelope.js'

export type UserHandler<G extends RouteGenericInterface> =
  (request: FastifyRequest<G>, reply: FastifyReply, user: HelpdeskUser) => Promise<FastifyReply>

/**
 * Wraps a route handler so it runs only for an authenticated caller and receives that caller
 * explicitly, rather than through a request decoration that would widen Fastify's types for
 * the whole project. Refusals are 401 with `WWW-Authenticate`, as DRF's JWT authentication
 * sends (RFC 6750 section 3).
 */
export function withUser<G extends RouteGenericInterface>(authenticate: Authenticate, handler: UserHandler<G>) {
  return async (request: FastifyRequest<G>, reply: FastifyReply): Promise<FastifyReply> => {
    const verdict = await authenticate(request.headers.authorization)
    if (!verdict.ok) {
      reply.header('www-authenticate', 'Bearer realm="api"')
      return sendError(reply, request, 401, { code: verdict.code, message: verdict.message })
    }
    return handler(request, reply, verdict.user)
  }
}
