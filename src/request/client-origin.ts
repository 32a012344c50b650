import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { CompiledConfig } from '../config/types.js'

/** The scheme and host the client asked for: what the upstream builds absolute links with. */
export interface ClientOrigin {
  readonly proto: string
  readonly host: string
}

const PROTO = /^https?$/
/** A host, or host:port (RFC 9110 section 7.2), IPv6 literals included; nothing that could carry a path. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(:\d{1,5})?$/

/**
 * X-Forwarded-Proto and X-Forwarded-Host are believed only from a peer in `trustedProxies` (an
 * ingress in front that terminates TLS), and only the last value of each: the one the nearest
 * proxy added (as Fastify and Express read them). From any other peer they are what this
 * proxy saw, so a client cannot make the upstream build links for another host or scheme. The
 * origin is part of the cache key (request/key.ts), so a response built for one is never served
 * for another.
 */
export function clientOrigin(req: IncomingMessage, config: Pick<CompiledConfig, 'isTrustedProxy'>): ClientOrigin {
  const host = req.headers.host ?? ''
  const proto = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http'
  const trusted = config.isTrustedProxy?.(req.socket.remoteAddress ?? '') === true
  if (!trusted) return { proto, host }
  const forwardedProto = lastValue(req.headers['x-forwarded-proto'])?.toLowerCase()
  const forwardedHost = lastValue(req.headers['x-forwarded-host'])
  return {
    proto: forwardedProto !== undefined && PROTO.test(forwardedProto) ? forwardedProto : proto,
    host: forwardedHost !== undefined && HOST.test(forwardedHost) ? forwardedHost : host,
  }
}

function lastValue(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header[header.length - 1] : header
  if (text === undefined) return undefined
  const comma = text.lastIndexOf(',')
  return (comma === -1 ? text : text.slice(comma + 1)).trim() || undefined
}
