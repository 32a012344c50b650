import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { ActiveConfig, ConfigHolder } from '../config/active-config.js'
import type { CompiledRoute } from '../config/types.js'
import { bindCounter, bindHistogram, LATENCY_BUCKETS, type BoundCounter, type BoundHistogram, type CoalescedOutcome, type Metrics, type StoreOp, type StoreOutcome } from '../metrics.js'
import type { AcquiredStamps, AcquireOnMiss, CacheStore } from '../store/store.js'
import { asksForRefresh, decideRecv, hasMethodOverride, type RecvVerdict } from '../request/recv.js'
import { identityWindow } from '../request/identity.js'
import { makeCacheKey, makeEntryTags, type KeyInput } from '../request/key.js'
import { clientOrigin, type ClientOrigin } from '../request/client-origin.js'
import { evaluateLookup, staleCandidates, type LookupVerdict } from '../request/lookup.js'
import { decideAdmission, varyNames } from '../request/admission.js'
import { encodeCachedResponse, type CachedResponse } from '../request/cached-response.js'
import { makeCachedResponse, storeLifetimeMs } from '../request/make-cached-response.js'
import { hitTiming } from '../request/deliver.js'
import { cacheStatusForward, cacheStatusHit, cacheStatusStaleIfError, type Reason, type XCache } from '../request/reasons.js'
import { makeStoreOnEnd } from './store-on-end.js'
import { makeDeliverCached, writeHitFromL1, type FromL1 } from './deliver-cached.js'
import { makeCoalescer, type Flight, type FlightOutcome } from './coalescer.js'
import { refreshInBackground } from './refresh-in-background.js'
import { makeForwardHeaders } from './forward-headers.js'
import { isProxyError } from '../errors.js'
import { makeL1Cache } from './l1-cache.js'
import { makeMissRates } from './miss-rates.js'
import { requestIdFrom } from './request-id.js'

export interface CacheHooksDeps {
  readonly holder: ConfigHolder
  readonly store: CacheStore
  readonly clock: Clock
  readonly metrics: Metrics
  readonly log: Logger
}

interface UpstreamResponse { readonly statusCode: number; readonly headers: IncomingHttpHeaders; readonly stream: Readable }

/** What the request stage decided, carried to the response stage. */
interface CacheContext {
  readonly route: CompiledRoute
  readonly now: number
  readonly xcache: XCache
  readonly reason: Reason
  readonly miss?: { readonly keyInput: KeyInput; readonly key: string; readonly tags: string[]; readonly stamps: string[] }
  readonly staleIfError?: CachedResponse
  readonly flight?: Flight
  readonly locked?: boolean
  readonly compressAboveBytes?: number
  /** Set when the whole body is in and its store has begun: the client's end no longer settles the flight. */
  storing?: boolean
}

type LookupRecv = Extract<RecvVerdict, { action: 'lookup' }>

/** The request stage's result for one request (recv, and the key of a lookup). */
interface Resolved {
  readonly active: ActiveConfig
  readonly recv: RecvVerdict
  readonly key: string | undefined
  /** The request header names the key was made with (route.vary plus those learned). */
  readonly varyNames: readonly string[]
}

/**
 * A lookup decided for the exact text of a request's URL and Authorization header (JWT
 * identities only), reused for the next requests with the same text while the token's window
 * lasts and nothing else the decision read differs: the config, the learned Vary names, Host,
 * the Vary headers' values. The checks decideRecv makes on other headers (method override,
 * client no-cache) are made again on every request.
 */
interface Memo extends Resolved {
  readonly recv: LookupRecv
  readonly key: string
  readonly url: string
  readonly authorization: string
  readonly host: string | undefined
  /** Compared only where X-Forwarded-* can be believed (trustedProxies); otherwise Host decides it. */
  readonly origin: ClientOrigin
  readonly varyEpoch: number
  readonly varyValues: readonly (string | string[] | undefined)[]
  readonly notBefore: number
  readonly until: number
  readonly hits: HitRecorder
}

interface HitRecorder { readonly requests: BoundCounter; readonly latency: BoundHistogram }

const MEMO_SIZE = 4096
/** The memo is found by the URL and the token's last characters (its signature), then both are compared in full. */
const MEMO_TAIL = 32
const RESOLVED = Symbol('ccp.resolved')
type WithResolved = IncomingMessage & { [RESOLVED]?: Resolved }
/** A connection's last fast-path hit: the memo it used, its header block, and the headers object Node parsed from it. */
interface LastRequest { readonly memo: Memo; readonly rawHeaders: readonly string[]; readonly headers: IncomingHttpHeaders }
const LAST_REQUEST = Symbol('ccp.lastRequest')
type WithLastRequest = Socket & { [LAST_REQUEST]?: LastRequest }
const NO_NAMES: readonly string[] = []

/** Two raw header lists (names as sent, values) are the same, in the same order. */
function sameHeaderBlock(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A memo is used only while its token verifies: from the later of nbf and iat to exp, with the clock tolerance. */
function withinTokenWindow(memo: Memo): boolean {
  const now = Date.now() // the token window's time base (fast-jwt's)
  return now >= memo.notBefore && now <= memo.until
}

/** The Fastify adapter of the request path: recv -> key -> lookup -> (deliver | fetch -> store). */
export function makeCacheHooks(deps: CacheHooksDeps) {
  const { store, clock, metrics } = deps
  const contexts = new WeakMap<FastifyRequest, CacheContext>()
  const coalescer = makeCoalescer(store, clock)
  const missRates = makeMissRates()
  const deliverCached = makeDeliverCached()
  const initial = deps.holder.current().config
  const l1 = initial.store.l1 && makeL1Cache(store, initial.store.l1)
  /** Request headers each route's upstream was seen to Vary on (beyond route.vary), learned per process. */
  const learnedVary = new Map<string, readonly string[]>()
  /** Bumped whenever learnedVary changes: memos made with other names are not used. */
  let varyEpoch = 0
  const memos = new Map<string, Memo>()
  const hitRecorders = new Map<string, HitRecorder>()
  let fastPathOpen = true
  let fastPathServed = 0

  /** recv and the key: from the memo when the same request text was decided recently, else computed (and remembered). */
  function resolve(req: IncomingMessage, active: ActiveConfig): Resolved {
    const url = req.url ?? '/'
    const headers = req.headers
    const authorization = headers.authorization
    let memoKey: string | undefined
    if (req.method === 'GET' && authorization !== undefined) {
      memoKey = url + '\n' + authorization.slice(-MEMO_TAIL)
      const memo = memos.get(memoKey)
      if (memo !== undefined && memoApplies(memo, req, url, authorization, active)) return memo
    }
    const recv = decideRecv(active.config, active.resolveIdentity, req)
    if (recv.action !== 'lookup') return { active, recv, key: undefined, varyNames: NO_NAMES }
    const varyNames = keyVaryNames(recv.route)
    const keyInput = keyInputOf(recv, req, varyNames, active)
    const key = makeCacheKey(keyInput)
    const window = identityWindow(recv.identity)
    if (memoKey === undefined || window === undefined || authorization === undefined) return { active, recv, key, varyNames }
    const memo: Memo = {
      active, recv, key, varyNames, url, authorization, host: headers.host, origin: keyInput.origin, varyEpoch,
      varyValues: varyNames.map((name) => headers[name]), notBefore: window.notBefore, until: window.until, hits: hitRecorder(recv.route.name),
    }
    if (memos.size >= MEMO_SIZE) memos.delete(memos.keys().next().value as string)
    memos.set(memoKey, memo)
    return memo
  }

  /**
   * A keep-alive connection that sends the same request again (a client polling a list, a load
   * generator) is answered from what its last fast-path hit used, found without hashing the
   * request's text or parsing its headers again: same connection (so the same peer, which is all
   * trustedProxies reads besides headers), same URL and the same header block, name by name and
   * value by value, so every header-based check memoApplies makes (Host, Vary values, method
   * override, client no-cache, forwarded headers) has the same answer, and the headers object
   * Node parsed for that request is this one's too. Config, learned Vary names and the token's
   * window are checked again, as for any memo.
   */
  function repeatedOnConnection(req: IncomingMessage, url: string, active: ActiveConfig): LastRequest | undefined {
    const last = (req.socket as WithLastRequest | null | undefined)?.[LAST_REQUEST]
    if (last === undefined) return undefined
    const memo = last.memo
    if (memo.url !== url || memo.active !== active || memo.varyEpoch !== varyEpoch || !sameHeaderBlock(last.rawHeaders, req.rawHeaders)) return undefined
    return withinTokenWindow(memo) ? last : undefined
  }

  function memoApplies(memo: Memo, req: IncomingMessage, url: string, authorization: string, active: ActiveConfig): boolean {
    const headers = req.headers
    if (memo.url !== url || memo.authorization !== authorization || memo.active !== active || memo.varyEpoch !== varyEpoch || memo.host !== headers.host) return false
    for (let i = 0; i < memo.varyNames.length; i++) if (headers[memo.varyNames[i] as string] !== memo.varyValues[i]) return false
    if (hasMethodOverride(req) || (memo.recv.route.honourClientNoCache && asksForRefresh(req))) return false
    if (active.config.isTrustedProxy !== undefined) {
      const origin = clientOrigin(req, active.config)
      if (origin.proto !== memo.origin.proto || origin.host !== memo.origin.host) return false
    }
    return withinTokenWindow(memo)
  }

  function keyInputOf(recv: LookupRecv, req: IncomingMessage, varyNames: readonly string[], active: ActiveConfig): KeyInput {
    const headers = req.headers
    return { route: recv.route, identity: recv.identity, host: headers.host ?? '', origin: clientOrigin(req, active.config), pathname: recv.pathname, query: recv.query, varyNames, headers }
  }

  function hitRecorder(routeName: string): HitRecorder {
    let recorder = hitRecorders.get(routeName)
    if (recorder === undefined) {
      recorder = {
        requests: bindCounter(metrics.requests, { route: routeName, cache: 'HIT', reason: '' }),
        latency: bindHistogram(metrics.latency, { route: routeName, cache: 'HIT' }, LATENCY_BUCKETS),
      }
      hitRecorders.set(routeName, recorder)
    }
    return recorder
  }

  /**
   * The fast path, called for every request before Fastify routes it: a GET whose key has a
   * usable L1 copy is answered here, with the same status, headers and bytes as the Fastify
   * path, the same metrics and the same debug line. Anything else returns false having written
   * nothing, and what was computed goes with the request to the preHandler.
   */
  function serveFromL1(req: IncomingMessage, res: ServerResponse): boolean {
    if (l1 === undefined || req.method !== 'GET' || !fastPathOpen) return false
    const active = deps.holder.current()
    const repeated = repeatedOnConnection(req, req.url ?? '/', active)
    const resolved = repeated?.memo ?? resolve(req, active)
    ;(req as WithResolved)[RESOLVED] = resolved
    const key = resolved.key
    if (key === undefined) return false
    const now = clock.now()
    const entry = l1.get(key, now, active.config.invalidation?.freshnessBoundMs)
    if (entry === undefined) return false
    const headers = repeated?.headers ?? req.headers
    const { age, ttl } = hitTiming(entry.response, now)
    const requestId = requestIdFrom(headers)
    if (!writeHitFromL1(headers, res, l1, key, entry, requestId, age, cacheStatusHit(ttl))) return false
    const route = (resolved.recv as LookupRecv).route
    const hits = (resolved as Partial<Memo>).hits ?? hitRecorder(route.name)
    hits.requests.inc()
    hits.latency.observe(Math.max(0, clock.now() - now) / 1000)
    if (deps.log.isLevelEnabled('debug')) deps.log.child({ reqId: requestId }).debug({ route: route.name, cache: 'HIT', reason: undefined }, 'cache')
    fastPathServed++
    if (repeated === undefined && (resolved as Partial<Memo>).url !== undefined) rememberOnConnection(req, resolved as Memo, headers)
    return true
  }

  function rememberOnConnection(req: IncomingMessage, memo: Memo, headers: IncomingHttpHeaders): void {
    const socket = req.socket as WithLastRequest | null | undefined
    if (socket != null) socket[LAST_REQUEST] = { memo, rawHeaders: req.rawHeaders, headers }
  }

  /** What the fast path computed for this request, if it ran with the same config. */
  function takeResolved(req: IncomingMessage, active: ActiveConfig): Resolved | undefined {
    const resolved = (req as WithResolved)[RESOLVED]
    if (resolved === undefined) return undefined
    ;(req as WithResolved)[RESOLVED] = undefined
    return resolved.active === active ? resolved : undefined
  }

  async function preHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const active = deps.holder.current()
    const now = clock.now()
    const resolved = takeResolved(request.raw, active) ?? resolve(request.raw, active)
    const recv = resolved.recv
    if (recv.action === 'pass') return
    const { route } = recv
    if (recv.action === 'bypass') return bypass(request, route, now, recv.reason)
    const keyInput = keyInputOf(recv, request.raw, resolved.varyNames, active)
    const key = resolved.key as string
    const copy = l1?.get(key, now, active.config.invalidation?.freshnessBoundMs)
    if (copy) return deliver(request, reply, route, copy.response, now, 'HIT', '', { l1: l1 as NonNullable<typeof l1>, key, entry: copy })
    const tags = makeEntryTags(route, recv.identity, recv.params)
    // L1 admits a copy on its first hit from the store (or a follower's collapsed hit), not on
    // the MISS that stored it: a response asked for only once never costs L1 memory (nor the
    // garbage collector's time).
    const l1Generation = l1?.generation()
    const onMiss = request.method === 'GET' ? fillOnMiss(route, key, active) : undefined
    const lookup = await lookupEntry(active, key, tags, now, onMiss)
    if (!lookup) return bypass(request, route, now, 'STORE-UNAVAILABLE')
    const { verdict, acquired } = lookup
    // A bypass (replication lag) says nothing about whether the route's entries are there.
    if (verdict.kind !== 'bypass') missRates.record(route.name, verdict.kind === 'miss')
    if (verdict.kind === 'hit') {
      if (l1Generation !== undefined) l1?.put(key, verdict.response, tags, l1Generation, now)
      return deliver(request, reply, route, verdict.response, now, 'HIT')
    }
    if (verdict.kind === 'bypass') {
      if (acquired?.locked) finishFlight(key, undefined, true, { kind: 'pass' })
      return bypass(request, route, now, verdict.reason)
    }
    if (verdict.reason === 'UNREADABLE-ENTRY') void attempt('deleteEntry', () => store.deleteEntry(key))
    const stale = staleCandidates(verdict, route, now)
    if (stale.whileRevalidate) {
      // (An expired entry had every stamp: the lookup took nothing.)
      deliver(request, reply, route, stale.whileRevalidate, now, 'STALE')
      return startRefresh(request, active, { keyInput, key, tags, now })
    }
    await handleMiss(request, reply, active, { keyInput, key, tags, now, reason: verdict.reason, staleIfError: stale.ifError, l1Generation, acquired, lockAsked: onMiss?.lock !== undefined })
  }

  /**
   * On a route whose lookups mostly miss, a GET's lookup also starts the fill when it finds the
   * entry or a stamp missing: the stamps, and the coalescing lock if this request would lead
   * (a follower waits for this process's leader and takes the stamps as they are after that).
   * One round trip fewer before the upstream. On other routes the lookup is a plain MGET: a hit
   * read by the script costs Redis several times more (docs/benchmarks.md, "MISS calls").
   */
  function fillOnMiss(route: CompiledRoute, key: string, active: ActiveConfig): AcquireOnMiss | undefined {
    if (!missRates.mostlyMisses(route.name)) return undefined
    const role = route.coalesceWaitMs > 0 ? coalescer.peek(key) : 'uncoalesced'
    if (role === 'follower') return undefined
    return role === 'leader' ? { lock: fillLock(route, key, active) } : {}
  }

  /** The coalescing lock of a key's fill: held while followers may wait and the upstream may answer. */
  function fillLock(route: CompiledRoute, key: string, active: ActiveConfig): { key: string; ttlMs: number } {
    return { key, ttlMs: route.coalesceWaitMs + active.config.upstreamTimeoutMs }
  }

  async function lookupEntry(active: ActiveConfig, key: string, tags: string[], now: number, onMiss?: AcquireOnMiss): Promise<{ verdict: LookupVerdict; acquired: AcquiredStamps | undefined } | undefined> {
    const read = await attempt('read', () => store.read(key, tags, onMiss))
    return read && { verdict: evaluateLookup(read, now, { freshnessBoundMs: active.config.invalidation?.freshnessBoundMs }), acquired: read.acquired }
  }

  interface Miss {
    keyInput: KeyInput; key: string; tags: string[]; now: number; reason: Reason; staleIfError: CachedResponse | undefined; l1Generation: number | undefined
    /** The stamps (and lock) the lookup already took, when it found the entry or a stamp missing. */
    acquired: AcquiredStamps | undefined
    /** Whether the lookup asked for the lock: `acquired.locked` false means another fetch holds it only then. */
    lockAsked: boolean
  }

  async function handleMiss(request: FastifyRequest, reply: FastifyReply, active: ActiveConfig, miss: Miss): Promise<void> {
    const { route } = miss.keyInput
    let flight: Flight | undefined
    let locked = false
    let stamps: string[] | undefined = []
    const joined = request.method === 'GET' && route.coalesceWaitMs > 0 ? coalescer.join(miss.key) : undefined
    // Only a leader uses a lock the lookup took (another request became leader in between, or the key turned hit-for-miss).
    if (miss.acquired?.locked && joined?.role !== 'leader') finishFlight(miss.key, undefined, true, { kind: 'pass' })
    if (joined?.role === 'follower') {
      const outcome = await joined.wait(route.coalesceWaitMs)
      metrics.coalesced.inc({ route: route.name, outcome: (outcome?.kind ?? 'timeout') satisfies CoalescedOutcome })
      if (outcome?.kind === 'stored') {
        // A follower is the key's second request: the copy is admitted to L1 as on a hit from Redis.
        if (miss.l1Generation !== undefined) l1?.put(miss.key, outcome.response, miss.tags, miss.l1Generation, clock.now())
        return deliver(request, reply, route, outcome.response, clock.now(), 'HIT', '; collapsed')
      }
    }
    if (joined?.role === 'leader') {
      const justStored = coalescer.storedSince(miss.key, miss.now)
      if (justStored !== undefined) {
        // The fetch this lookup missed stored and settled before this request joined: take its response.
        finishFlight(miss.key, joined.flight, miss.acquired?.locked, { kind: 'stored', response: justStored })
        metrics.coalesced.inc({ route: route.name, outcome: 'stored' })
        if (miss.l1Generation !== undefined) l1?.put(miss.key, justStored, miss.tags, miss.l1Generation, clock.now())
        return deliver(request, reply, route, justStored, clock.now(), 'HIT', '; collapsed')
      }
      flight = joined.flight
      // One round trip (none more when the lookup took them): the stamps guarding the store, and the lock that tells other replicas to wait.
      // A request that looked up as hit-for-miss (no lock asked) and now leads asks for the lock here.
      const acquired = (miss.lockAsked ? miss.acquired : undefined) ?? await attempt('acquireStamps', () => store.acquireStampsAndLock(miss.tags, fillLock(route, miss.key, active)))
      locked = acquired?.locked ?? false
      stamps = acquired?.stamps
      if (acquired && !locked && await waitForOtherReplica(request, reply, active, miss, flight)) return
      // A client gone before its body ended settles the flight; one whose body is being stored does not.
      reply.raw.once('close', () => { if (!contexts.get(request)?.storing) finishFlight(miss.key, flight, locked, { kind: 'pass' }) })
    } else if (request.method === 'GET') {
      // A follower that waited in vain takes the stamps as they are now.
      stamps = (joined?.role === 'follower' ? undefined : miss.acquired?.stamps) ?? await attempt('acquireStamps', () => store.acquireStamps(miss.tags))
    }
    if (!stamps) {
      finishFlight(miss.key, flight, locked, { kind: 'pass' })
      return bypass(request, route, miss.now, 'STORE-UNAVAILABLE')
    }
    contexts.set(request, {
      route, now: miss.now, xcache: 'MISS', reason: miss.reason, staleIfError: miss.staleIfError, flight, locked,
      miss: { keyInput: miss.keyInput, key: miss.key, tags: miss.tags, stamps }, compressAboveBytes: active.config.store.compressAboveBytes,
    })
  }

  /** Another replica holds the key's lock: wait for its announcement, then read what it stored. */
  async function waitForOtherReplica(request: FastifyRequest, reply: FastifyReply, active: ActiveConfig, miss: Miss, flight: Flight): Promise<boolean> {
    const { route } = miss.keyInput
    await coalescer.waitForRemoteFill(miss.key, route.coalesceWaitMs)
    const now = clock.now()
    const verdict = (await lookupEntry(active, miss.key, miss.tags, now))?.verdict
    if (verdict?.kind !== 'hit') {
      metrics.coalesced.inc({ route: route.name, outcome: 'remote-miss' satisfies CoalescedOutcome })
      return false
    }
    metrics.coalesced.inc({ route: route.name, outcome: 'remote-hit' satisfies CoalescedOutcome })
    flight.settle({ kind: 'stored', response: verdict.response })
    deliver(request, reply, route, verdict.response, now, 'HIT', '; collapsed')
    return true
  }

  function finishFlight(key: string, flight: Flight | undefined, locked: boolean | undefined, outcome: FlightOutcome): void {
    flight?.settle(outcome)
    if (locked) void attempt('endFill', () => store.endFill(key))
  }

  /** reply-from's onResponse: the upstream answered; decide what the client is told and what is stored. */
  function onUpstreamResponse(request: FastifyRequest, reply: FastifyReply, res: UpstreamResponse): void {
    const context = contexts.get(request)
    if (!context) return void reply.send(res.stream)
    metrics.upstreamFetches.inc({ route: context.route.name })
    metrics.upstreamLatency.observe({ route: context.route.name }, Math.max(0, clock.now() - context.now) / 1000)
    if (context.staleIfError && res.statusCode >= 500) {
      res.stream.destroy()
      // reply-from already copied the failed response's headers onto the reply: none of them apply.
      for (const name of Object.keys(reply.getHeaders())) if (name !== 'x-request-id') reply.removeHeader(name)
      return serveStaleIfError(request, reply, context, res.statusCode)
    }
    let reason = context.reason
    let body: Readable = res.stream
    if (context.miss && request.method === 'GET') {
      const admission = decideAdmission(context.route, res.statusCode, res.headers)
      if (admission.admit) body = res.stream.pipe(storeWhenComplete(context, res, context.miss))
      else {
        reason = admission.reason
        coalescer.markUncacheable(context.miss.key)
        finishFlight(context.miss.key, context.flight, context.locked, { kind: 'pass' })
      }
    }
    reply.header('x-cache', context.xcache)
    reply.header('cache-status', cacheStatusForward(reason))
    record(request, context.route, context.xcache, reason, context.now)
    reply.send(body)
  }

  /** reply-from's onError: returns true when a stale response was served instead of the error. */
  function onUpstreamError(request: FastifyRequest, reply: FastifyReply): boolean {
    const context = contexts.get(request)
    if (!context) return false
    if (context.miss) finishFlight(context.miss.key, context.flight, context.locked, { kind: 'pass' })
    if (!context.staleIfError) return false
    serveStaleIfError(request, reply, context, undefined)
    return true
  }

  function serveStaleIfError(request: FastifyRequest, reply: FastifyReply, context: CacheContext, upstreamStatus: number | undefined): void {
    const response = context.staleIfError as CachedResponse
    const now = clock.now()
    const timing = hitTiming(response, now)
    if (context.miss) finishFlight(context.miss.key, context.flight, context.locked, { kind: 'pass' })
    record(request, context.route, 'STALE', 'STALE-IF-ERROR', context.now)
    deliverCached(request, reply, response, { xcache: 'STALE', age: timing.age, cacheStatus: cacheStatusStaleIfError(Math.floor((response.expiresAt - now) / 1000), upstreamStatus) })
  }

  function storeWhenComplete(context: CacheContext, res: UpstreamResponse, miss: NonNullable<CacheContext['miss']>) {
    const { route, now } = context
    const tee = makeStoreOnEnd(route.maxEntryBytes, async (body) => {
      try {
        await storeBody(body)
      } catch (err) {
        deps.log.warn({ err, route: route.name }, 'could not store a response')
        finishFlight(miss.key, context.flight, context.locked, { kind: 'pass' })
      }
    }, () => metrics.stores.inc({ route: route.name, outcome: 'too-large' satisfies StoreOutcome }), () => { context.storing = true })
    async function storeBody(body: Buffer): Promise<void> {
      const response = makeCachedResponse({ route, status: res.statusCode, headers: res.headers, body, now, stamps: miss.stamps, compressAboveBytes: context.compressAboveBytes ?? Infinity })
      const key = keyForResponse(miss.keyInput, varyNames(res.headers))
      // The write also ends the fill (unlock, and announce if awaited) when this request holds the key's lock.
      const endsFillOf = context.locked ? miss.key : undefined
      const stored = await attempt('write', () => store.writeIfUnchanged({ key, tags: miss.tags, stamps: miss.stamps, value: encodeCachedResponse(response), ttlMs: storeLifetimeMs(route), endsFillOf }))
      metrics.stores.inc({ route: route.name, outcome: (stored === undefined ? 'error' : stored ? 'stored' : 'refused-race') satisfies StoreOutcome })
      finishFlight(miss.key, context.flight, context.locked && stored === undefined, stored && key === miss.key ? { kind: 'stored', response } : { kind: 'pass' })
    }
    // pipe() does not forward errors: without this a reset or a body timeout upstream would
    // leave the client's response open forever. Destroying the tee aborts it (and stores nothing).
    res.stream.once('error', (err) => {
      metrics.stores.inc({ route: route.name, outcome: 'incomplete' satisfies StoreOutcome })
      finishFlight(miss.key, context.flight, context.locked, { kind: 'pass' })
      tee.destroy(err)
    })
    return tee
  }

  /** Stale-while-revalidate: one background request per key refreshes the entry. */
  function startRefresh(request: FastifyRequest, active: ActiveConfig, miss: { keyInput: KeyInput; key: string; tags: string[]; now: number }): void {
    const { route } = miss.keyInput
    const joined = coalescer.join(miss.key)
    if (joined.role !== 'leader') return
    const headers = makeForwardHeaders(request, { ...request.headers }, active.config, true)
    const url = new URL(request.url, active.config.upstream)
    void (async () => {
      const lock = await attempt('tryLock', () => store.tryLock(miss.key, active.config.upstreamTimeoutMs))
      if (lock === false) return joined.flight.settle({ kind: 'pass' })
      const outcome = await refreshInBackground(store, {
        route, url, headers, tags: miss.tags, now: clock.now(), timeoutMs: active.config.upstreamTimeoutMs,
        compressAboveBytes: active.config.store.compressAboveBytes, keyFor: (vary) => keyForResponse(miss.keyInput, vary),
      }).catch((err: unknown) => {
        deps.log.warn({ err, route: route.name }, 'background refresh failed; the stale entry stays until its window ends')
        return { kind: 'pass' } as const
      })
      metrics.backgroundRefreshes.inc({ route: route.name, outcome: outcome.kind })
      finishFlight(miss.key, joined.flight, lock === true, outcome)
    })()
  }

  function deliver(request: FastifyRequest, reply: FastifyReply, route: CompiledRoute, response: CachedResponse, now: number, xcache: 'HIT' | 'STALE', extra = '', fromL1?: FromL1): void {
    const timing = hitTiming(response, now)
    const cacheStatus = xcache === 'STALE'
      ? cacheStatusHit(Math.floor((response.expiresAt - now) / 1000), '; detail=STALE-WHILE-REVALIDATE')
      : cacheStatusHit(timing.ttl, extra)
    record(request, route, xcache, xcache === 'STALE' ? 'STALE-WHILE-REVALIDATE' : undefined, now)
    deliverCached(request, reply, response, { xcache, cacheStatus, age: timing.age }, fromL1)
  }

  function bypass(request: FastifyRequest, route: CompiledRoute, now: number, reason: Reason): void {
    contexts.set(request, { route, now, xcache: 'BYPASS', reason })
  }

  /** The key under which a response is stored: the request's, plus any header the response Varies on. */
  function keyForResponse(keyInput: KeyInput, responseVary: readonly string[]): string {
    const names = [...new Set([...keyInput.varyNames, ...responseVary])].sort()
    if (names.length === keyInput.varyNames.length) return makeCacheKey(keyInput)
    const known = learnedVary.get(keyInput.route.name) ?? keyInput.route.vary
    learnedVary.set(keyInput.route.name, [...new Set([...known, ...names])].sort())
    varyEpoch++
    return makeCacheKey({ ...keyInput, varyNames: names })
  }

  function keyVaryNames(route: CompiledRoute): readonly string[] {
    return learnedVary.get(route.name) ?? route.vary
  }

  /** Store calls never fail a request: an error is logged, counted and answered with undefined. */
  async function attempt<T>(op: StoreOp, run: () => Promise<T>): Promise<T | undefined> {
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

  function close(): void {
    fastPathOpen = false
    memos.clear()
    coalescer.close()
    l1?.close()
  }

  return { serveFromL1, closeFastPath: () => { fastPathOpen = false }, fastPathServed: () => fastPathServed, preHandler, onUpstreamResponse, onUpstreamError, contextOf: (request: FastifyRequest) => contexts.get(request), close, l1Size: () => l1?.size() ?? 0 }
}

export type CacheHooks = ReturnType<typeof makeCacheHooks>
