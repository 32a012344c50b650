import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { ConfigHolder } from '../config/active-config.js'
import type { Metrics } from '../metrics.js'
import { cacheStatusForward } from '../request/reasons.js'
import { makeCacheHooks, type CacheHooksDeps } from './cache-hooks.js'
import { makeForwardHeaders } from './forward-headers.js'
import { classifyUpstreamError, sendUpstreamFailure } from './upstream-errors.js'
import { requestIdOf } from './request-id.js'
import { withoutHopByHop } from '../request/deliver.js'

export interface ProxyAppDeps extends CacheHooksDeps {
  readonly holder: ConfigHolder
  readonly metrics: Metrics
  readonly log: Logger
  /** Answer L1 hits before Fastify's routing (default true); false serves every hit through Fastify. */
  readonly fastPath?: boolean
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
  if (deps.fastPath !== false) installFastPath(app, hooks.serveFromL1)
  app.decorate('l1FastPath', { served: hooks.fastPathServed })
  // From the start of close(), every request goes through Fastify (which answers 503 while closing).
  app.addHook('preClose', async () => hooks.closeFastPath())
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  await app.register(httpProxy, {
    upstream: config.upstream.href.replace(/\/$/, ''),
    // An async preHandler is a Fastify hook: its promise is awaited (http-proxy's type says void).
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
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
      // The upstream's connection management is its own (RFC 9110 7.6.1): Keep-Alive and
      // Connection (and what it names) stop here; Node sets ours.
      rewriteHeaders: (headers) => withoutHopByHop(headers),
      rewriteRequestHeaders: (request, headers) => makeForwardHeaders(request as FastifyRequest, headers, deps.holder.current().config, hooks.contextOf(request as FastifyRequest)?.xcache === 'MISS'),
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

/**
 * Puts the L1 fast path in front of Fastify's request handler on the same server (so every
 * server setting Fastify made, such as keepAliveTimeout, stays): a request it answers never
 * reaches Fastify; any other goes on to Fastify unchanged.
 */
function installFastPath(app: FastifyInstance, serveFromL1: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const server = app.server
  const fastifyHandlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  const fastify = fastifyHandlers[0]
  if (fastifyHandlers.length !== 1 || fastify === undefined) throw new Error(`expected Fastify's one request listener, found ${fastifyHandlers.length}`)
  server.removeListener('request', fastify)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!serveFromL1(req, res)) fastify.call(server, req, res)
  })
}
