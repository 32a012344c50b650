import type { FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'

/**
 * Headers added for the upstream (RFC 7239's de-facto X-Forwarded-* form). X-Forwarded-Host and
 * -Proto are always ours, never the client's, so a client cannot make the upstream build links
 * for another host into a response that is then cached for everybody of that key.
 */
export function makeForwardHeaders(request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const remote = request.raw.socket.remoteAddress ?? ''
  const prior = request.headers['x-forwarded-for']
  const out: IncomingHttpHeaders = { ...headers }
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote
  out['x-forwarded-proto'] = request.protocol
  out['x-forwarded-host'] = request.headers.host ?? ''
  out['x-request-id'] = request.id
  return out
}
