import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Propagates a well-formed X-Request-ID (or X-Correlation-ID), else makes one. Fastify's genReqId and the L1 fast path both use it. */
export function requestIdOf(req: IncomingMessage): string {
  return requestIdFrom(req.headers)
}

export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const id = headers['x-request-id']
  if (typeof id === 'string' && REQUEST_ID.test(id)) return id
  const correlation = headers['x-correlation-id']
  if (typeof correlation === 'string' && REQUEST_ID.test(correlation)) return correlation
  return randomUUID()
}
