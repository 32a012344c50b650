import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { ConfigHolder } from '../config/active-config.js'
import type { CompiledRoute } from '../config/types.js'
import type { Metrics } from '../metrics.js'
import type { CacheStore } from '../store/store.js'
import { decideRecv } from '../request/recv.js'
import { makeCacheKey, makeEntryTags, type KeyInput } from '../request/key.js'
import { evaluateLookup } from '../request/lookup.js'
import { decideAdmission, varyNames } from '../request/admission.js'
import { encodeCachedResponse, type CachedResponse } from '../request/cached-response.js'
import { hitTiming, storableHeaders } from '../request/deliver.js'
import { cacheStatusForward, cacheStatusHit, type Reason, type XCache } from '../request/reasons.js'
import { makeStoreOnEnd } from './store-on-end.js'
import { isProxyError } from '../errors.js'

/** Expired entries are kept a little longer so a miss can say EXPIRED (and serve stale later). */
const EXPIRED_GRACE_MS = 30_000

export interface CacheHooksDeps {
  readonly holder: ConfigHolder
  readonly store: CacheStore
  readonly clock: Clock
  readonly metrics: Metrics
  readonly log: Logger
}

/** What the request stage decided, carried to the response stage. */
interface CacheContext {
  readonly route: CompiledRoute
  readonly now: number
  readonly xcache: XCache
  readonly reason: Reason
  readonly miss?: { readonly keyInput: KeyInput; readonly tags: string[]; readonly stamps: string[] }
}

/** The Fastify adapter of the request path: recv -> key -> lookup -> (deliver | fetch -> store). */
export function makeCacheHooks(deps: CacheHooksDeps) {
  const { store, clock, metrics } = deps
  const contexts = new WeakMap<FastifyRequest, CacheContext>()
  /** Request headers each route's upstream was seen to Vary on (beyond route.vary), learned per process. */
  const learnedVary = new Map<string, readonly string[]>()

  async function preHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const active = deps.holder.current()
    const now = clock.now()
    const recv = decideRecv(active.config, active.resolveIdentity, request.raw)
    if (recv.action === 'pass') return
    const { route } = recv
    if (recv.action === 'bypass') return void contexts.set(request, { route, now, xcache: 'BYPASS', reason: recv.reason })
    const keyInput: KeyInput = {
      route, identity: recv.identity, host: request.headers.host ?? '', pathname: recv.pathname,
      query: recv.query, varyNames: keyVaryNames(route), headers: request.headers,
    }
    const key = makeCacheKey(keyInput)
    const tags = makeEntryTags(route, recv.identity, recv.params)
    const read = await attempt('read', () => store.read(key, tags))
    if (!read) return void contexts.set(request, { route, now, xcache: 'BYPASS', reason: 'STORE-UNAVAILABLE' })
    const lookup = evaluateLookup(read, now, { freshnessBoundMs: active.config.invalidation?.freshnessBoundMs })
    if (lookup.kind === 'hit') return void sendHit(request, reply, route, lookup.response, now)
    if (lookup.kind === 'bypass') return void contexts.set(request, { route, now, xcache: 'BYPASS', reason: lookup.reason })
    if (lookup.reason === 'UNREADABLE-ENTRY') void attempt('deleteEntry', () => store.deleteEntry(key))
    const stamps = request.method === 'GET' ? await attempt('acquireStamps', () => store.acquireStamps(tags)) : []
    if (!stamps) return void contexts.set(request, { route, now, xcache: 'BYPASS', reason: 'STORE-UNAVAILABLE' })
    contexts.set(request, { route, now, xcache: 'MISS', reason: lookup.reason, miss: { keyInput, tags, stamps } })
  }

  function sendHit(request: FastifyRequest, reply: FastifyReply, route: CompiledRoute, response: CachedResponse, now: number): void {
    const timing = hitTiming(response, now)
    reply.code(response.status)
    reply.headers(groupHeaders(response.headers))
    reply.header('age', String(timing.age))
    reply.header('x-cache', 'HIT')
    reply.header('cache-status', cacheStatusHit(timing.ttl))
    record(request, route, 'HIT', undefined, now)
    reply.send(response.body)
  }

  /** reply-from's onResponse: the upstream answered; decide what the client is told and what is stored. */
  function onUpstreamResponse(request: FastifyRequest, reply: FastifyReply, res: { statusCode: number; headers: IncomingHttpHeaders; stream: Readable }): void {
    const context = contexts.get(request)
    if (!context) return void reply.send(res.stream)
    let reason = context.reason
    let body: Readable = res.stream
    metrics.upstreamFetches.inc({ route: context.route.name })
    if (context.miss && request.method === 'GET') {
      const admission = decideAdmission(context.route, res.statusCode, res.headers)
      if (admission.admit) body = res.stream.pipe(storeWhenComplete(context, res, context.miss))
      else reason = admission.reason
    }
    reply.header('x-cache', context.xcache)
    reply.header('cache-status', cacheStatusForward(reason))
    record(request, context.route, context.xcache, reason, context.now)
    reply.send(body)
  }

  function storeWhenComplete(context: CacheContext, res: { statusCode: number; headers: IncomingHttpHeaders; stream: Readable }, miss: NonNullable<CacheContext['miss']>) {
    const { route, now } = context
    const names = [...new Set([...miss.keyInput.varyNames, ...varyNames(res.headers)])].sort()
    if (names.length > miss.keyInput.varyNames.length) learnVary(route, names)
    const key = makeCacheKey({ ...miss.keyInput, varyNames: names })
    const tee = makeStoreOnEnd(route.maxEntryBytes, async (body) => {
      const response: CachedResponse = {
        status: res.statusCode, headers: storableHeaders(res.headers), body,
        storedAt: now, expiresAt: now + route.ttlMs, stamps: miss.stamps.join(' '),
      }
      const ttlMs = route.ttlMs + route.staleWhileRevalidateMs + route.staleIfErrorMs + EXPIRED_GRACE_MS
      const stored = await attempt('write', () => store.writeIfUnchanged({ key, tags: miss.tags, stamps: miss.stamps, value: encodeCachedResponse(response), ttlMs }))
      metrics.stores.inc({ route: route.name, outcome: stored === undefined ? 'error' : stored ? 'stored' : 'refused-race' })
    }, () => metrics.stores.inc({ route: route.name, outcome: 'too-large' }))
    res.stream.once('error', () => metrics.stores.inc({ route: route.name, outcome: 'incomplete' }))
    return tee
  }

  function keyVaryNames(route: CompiledRoute): readonly string[] {
    return learnedVary.get(route.name) ?? route.vary
  }

  function learnVary(route: CompiledRoute, names: readonly string[]): void {
    const known = learnedVary.get(route.name) ?? route.vary
    learnedVary.set(route.name, [...new Set([...known, ...names])].sort())
  }

  /** Store calls never fail a request: an error is logged, counted and answered with undefined. */
  async function attempt<T>(op: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run()
    } catch (err) {
      metrics.storeErrors.inc({ op })
      deps.log.warn({ err, op, code: isProxyError(err) ? err.code : undefined }, 'cache store operation failed; serving from the upstream')
      return undefined
    }
  }

  function record(request: FastifyRequest, route: CompiledRoute, cache: XCache, reason: Reason | undefined, now: number): void {
    metrics.requests.inc({ route: route.name, cache, reason: reason ?? '' })
    metrics.latency.observe({ route: route.name, cache }, Math.max(0, clock.now() - now) / 1000)
    request.log.debug({ route: route.name, cache, reason }, 'cache')
  }

  return { preHandler, onUpstreamResponse, contextOf: (request: FastifyRequest) => contexts.get(request) }
}

export type CacheHooks = ReturnType<typeof makeCacheHooks>

function groupHeaders(headers: readonly (readonly [string, string])[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of headers) {
    const prior = out[name]
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
  }
  return out
}
