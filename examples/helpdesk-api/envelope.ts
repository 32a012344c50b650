import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * The seed app's v2 response envelope: `{success, data, meta}` on success and
 * `{success: false, error, meta}` on failure, serialised once here so every endpoint sends
 * the same bytes for the same content (Content-Type exactly `application/json`, as DRF does).
 */
export interface Meta {
  readonly correlation_id: string
  readonly timestamp: string
}

export function makeMeta(request: FastifyRequest): Meta {
  return { correlation_id: readCorrelationId(request), timestamp: new Date().toISOString() }
}

export function sendData(reply: FastifyReply, request: FastifyRequest, data: unknown, status = 200): FastifyReply {
  return sendJson(reply, status, { success: true, data, meta: makeMeta(request) })
}

export interface ErrorBody {
  readonly code: string
  readonly message: string
  readonly details?: unknown
}

export function sendError(reply: FastifyReply, request: FastifyRequest, status: number, error: ErrorBody): FastifyReply {
  return sendJson(reply, status, { success: false, error, meta: makeMeta(request) })
}

/**
 * Sends JSON as bytes: for a string payload Fastify appends `; charset=utf-8`, while DRF sends
 * a bare `application/json` (RFC 8259 section 11 defines no charset parameter).
 */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)))
}

// The seed app echoes the caller's correlation id so a request can be traced across services.
function readCorrelationId(request: FastifyRequest): string {
  const header = request.headers['x-correlation-id'] ?? request.headers['x-request-id']
  const value = Array.isArray(header) ? header[0] : header
  return value !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID()
}
