import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import type { ConfigHolder } from '../config/active-config.js'
import type { Metrics } from '../metrics.js'
import { cacheStatusForward } from '../request/reasons.js'
import { makeCacheHooks, type CacheHooksDeps } from './cache-hooks.js'
import { makeForwardHeaders } from './forward-headers.js'
import { classifyUpstreamError, sendUpstreamFailure } from './upstream-errors.js'

export interface ProxyAppDeps extends CacheHooksDeps {
  readonly holder: ConfigHolder
  readonly metrics: Metrics
  readonly log: Logger
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Propagates a well-formed X-Request-ID (or X-Correlation-ID), else makes one. */
function requestIdOf(req: IncomingMessage): string {
  for (const name of ['x-request-id', 'x-correlation-id']) {
    const value = req.headers[name]
    if (typeof value === 'string' && REQUEST_ID.test(value)) return value
  }
  return randomUUID()
}

/** The proxy server (not listening): every request goes through http-proxy; cached routes get hooks. */
export async function buildProxyApp(deps: ProxyAppDeps): Promise<FastifyInstance> {
  const config = deps.holder.current().config
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request info lines would dominate a hit's cost; hits and misses are logged at debug instead.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    return503OnClosing: true,
    bodyLimit: 1 << 30,
    routerOptions: { maxParamLength: 8192 },
  })
  const hooks = makeCacheHooks(deps)
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  await app.register(httpProxy, {
    upstream: config.upstream.href.replace(/\/$/, ''),
    preHandler: hooks.preHandler,
    disableRequestLogging: true,
    undici: {
      connections: 128,
      pipelining: 1,
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
      keepAliveTimeout: 4000,
    },
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => makeForwardHeaders(request as FastifyRequest, headers, hooks.contextOf(request as FastifyRequest)?.xcache === 'MISS'),
      onResponse: (request, reply, res) => hooks.onUpstreamResponse(request as FastifyRequest, reply as FastifyReply, res as never),
      onError: (rawReply, { error }) => {
        const reply = rawReply as FastifyReply
        const failure = classifyUpstreamError(error)
        deps.metrics.upstreamErrors.inc({ code: failure.code })
        if (hooks.onUpstreamError(reply.request, reply)) {
          reply.request.log.warn({ err: error, code: failure.code }, 'upstream request failed; served stale')
          return
        }
        reply.request.log.warn({ err: error, code: failure.code }, 'upstream request failed')
        const context = hooks.contextOf(reply.request)
        if (context) reply.header('x-cache', context.xcache).header('cache-status', cacheStatusForward(context.reason))
        sendUpstreamFailure(reply, failure)
      },
    },
  })
  app.addHook('onClose', async () => hooks.close())
  return app
}
