import type { FastifyReply } from 'fastify'

/** The upstream failed before any response byte: a clear 502 or 504, never a hang or a crash. */
export interface UpstreamFailure {
  readonly status: 502 | 504
  readonly code: 'CCP_UPSTREAM_UNREACHABLE' | 'CCP_UPSTREAM_TIMEOUT'
  readonly message: string
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'])

export function classifyUpstreamError(error: unknown): UpstreamFailure {
  const codes = errorChain(error).map((e) => (e as { code?: string }).code ?? '')
  const status = (error as { statusCode?: number }).statusCode
  const innermost = errorChain(error).at(-1) as Error | undefined
  const detail = innermost?.message ?? 'unknown error'
  if (status === 504 || codes.some((c) => TIMEOUT_CODES.has(c))) {
    return { status: 504, code: 'CCP_UPSTREAM_TIMEOUT', message: `upstream timed out: ${detail}` }
  }
  return { status: 502, code: 'CCP_UPSTREAM_UNREACHABLE', message: `upstream unreachable: ${detail}` }
}

function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = []
  for (let e = error; e && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e)
  return chain
}

export function sendUpstreamFailure(reply: FastifyReply, failure: UpstreamFailure): void {
  reply
    .code(failure.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ error: failure.status === 504 ? 'Gateway Timeout' : 'Bad Gateway', code: failure.code, message: failure.message }))
}
