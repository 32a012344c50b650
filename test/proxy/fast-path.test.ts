import t from 'tap'
import { connect } from 'node:net'
import { makeManualClock } from '../../src/clock.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { makeLogger } from '../../src/logger.js'
import { startHarness, eventually, type Harness, type HarnessOptions } from '../helpers/proxy.js'
import { bearer, makeToken } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'
import { rawRequest } from '../helpers/raw-request.js'
import type { OriginReply } from '../helpers/origin.js'
import type { Test } from 'tap'

/**
 * The L1 fast path answers hits before Fastify's routing. Everything a client can observe must
 * be what the Fastify path sends: status, every header in order, the bytes, 304s, gzip
 * negotiation, metrics. Two proxies with the same clock and origin, one with the fast path and
 * one without, answer the same requests; their raw responses are compared byte for byte
 * (apart from the Date header).
 */

interface Raw { head: string; body: Buffer }

/** One request on its own connection, exactly as written; the raw response as it came (Content-Length framed). */
function exchange(url: string, target: string, headers: Record<string, string>, method = 'GET'): Promise<Raw> {
  const { hostname, port } = new URL(url)
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), 'Connection: close', '', '']
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(lines.join('\r\n')))
    let all = Buffer.alloc(0)
    const done = () => {
      const at = all.indexOf('\r\n\r\n')
      if (at === -1) return false
      const head = all.subarray(0, at).toString('latin1')
      const length = method === 'HEAD' || / 304 /.test(head.split('\r\n')[0] ?? '') ? 0 : Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN)
      if (Number.isNaN(length)) return reject(new Error(`no Content-Length: ${head}`)), true
      if (all.length < at + 4 + length) return false
      resolve({ head, body: all.subarray(at + 4, at + 4 + length) })
      socket.destroy()
      return true
    }
    socket.on('data', (c: Buffer) => { all = Buffer.concat([all, c]); done() })
    socket.on('error', reject)
    socket.on('close', () => { if (!done()) reject(new Error(`connection closed early: ${all.toString('latin1').slice(0, 200)}`)) })
  })
}

/**
 * Date is the only field allowed to differ: Node's (the second the response was written) and
 * the stored one (each proxy has its own origin, which answered at its own second).
 */
function comparable(raw: Raw): { head: string; body: string } {
  return { head: raw.head.replace(/\r\ndate: [^\r]*/gi, '\r\ndate: -'), body: raw.body.toString('base64') }
}

/** Entries stored so far: a MISS's response ends before its store settles (README, Coalescing). */
async function stored(h: Harness): Promise<number> {
  const metric = await h.proxy.metrics.stores.get()
  return metric.values.filter((v) => v.labels.outcome === 'stored').reduce((sum, v) => sum + v.value, 0)
}

function served(h: Harness): number {
  return (h.proxy.app as unknown as { l1FastPath: { served(): number } }).l1FastPath.served()
}

/** One hit from Redis, which admits the copy to L1: the next hit may come from the fast path. */
async function admitToL1(h: Harness): Promise<void> {
  const res = await h.fetch(path, { headers: auth })
  await res.arrayBuffer()
  if (res.headers.get('x-cache') !== 'HIT') throw new Error(`expected a HIT from Redis, got ${res.headers.get('x-cache')}`)
}

async function pair(t: Test, reply: () => OriginReply, options: HarnessOptions = {}): Promise<{ fast: Harness; fastify: Harness }> {
  const clock = makeManualClock(Date.parse('2026-11-25T10:00:00Z'))
  const fast = await startHarness(t, { clock, ...options })
  const fastify = await startHarness(t, { clock, ...options, fastPath: false })
  fast.origin.respond = reply
  fastify.origin.respond = reply
  return { fast, fastify }
}

const token = makeToken({ tenant: 't1', sub: 'u1' })
const auth = { authorization: `Bearer ${token}`, 'x-request-id': 'req-fixed-1' }
const path = '/api/v2/people/search/?q=fast'
const big = JSON.stringify({ items: Array.from({ length: 80 }, (_, i) => ({ id: i, name: `person ${i}` })) })

t.test('a hit from the fast path is byte-identical to the Fastify path: plain, gzip, 304, metrics', async (t) => {
  const { fast, fastify } = await pair(t, () => ({
    headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'last-modified': 'Tue, 10 Nov 2026 10:00:00 GMT', vary: 'Accept-Language', 'x-origin': ['a', 'b'] },
    body: big,
  }))
  // node:http requests: exactly these headers (fetch() would add Accept-Language, which the upstream Varies on).
  for (const h of [fast, fastify]) t.equal((await rawRequest(h.url, path, { headers: auth })).headers['x-cache'], 'MISS')
  for (const h of [fast, fastify]) await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  const etagsOf = async (h: Harness) => [
    String((await rawRequest(h.url, path, { headers: { ...auth, 'accept-encoding': 'gzip' } })).headers.etag),
    String((await rawRequest(h.url, path, { headers: auth })).headers.etag),
  ]
  const [gzEtag = '', etag = ''] = await etagsOf(fastify)
  t.same(await etagsOf(fast), [gzEtag, etag])
  t.match(gzEtag, /-gz"$/)
  const before = served(fast)
  const variants: [string, Record<string, string>][] = [
    ['identity (decoded gzip entry)', auth],
    ['identity again (decoded copy kept with the L1 copy)', auth],
    ['gzip', { ...auth, 'accept-encoding': 'gzip, deflate' }],
    ['gzip refused with q=0', { ...auth, 'accept-encoding': 'gzip;q=0, br' }],
    ['If-None-Match of the identity form', { ...auth, 'if-none-match': etag }],
    ['If-None-Match of the gzip form, weak, in a list', { ...auth, 'accept-encoding': 'gzip', 'if-none-match': `"x", W/${gzEtag}` }],
    ['If-None-Match: *', { ...auth, 'if-none-match': '*' }],
    ['If-None-Match that does not match', { ...auth, 'if-none-match': '"other"' }],
    ['If-Modified-Since at Last-Modified', { ...auth, 'if-modified-since': 'Tue, 10 Nov 2026 10:00:00 GMT' }],
    ['If-Modified-Since before it', { ...auth, 'if-modified-since': 'Mon, 09 Nov 2026 10:00:00 GMT' }],
    ['X-Correlation-ID instead of X-Request-ID', { authorization: auth.authorization, 'x-correlation-id': 'corr-7' }],
    ['client no-cache (the route does not honour it)', { ...auth, 'cache-control': 'no-cache' }],
  ]
  for (const [what, headers] of variants) {
    const a = await exchange(fast.url, path, headers)
    const b = await exchange(fastify.url, path, headers)
    t.same(comparable(a), comparable(b), what)
    t.match(a.head, /\r\nx-cache: HIT\r\n/, `${what}: a hit`)
  }
  t.equal(served(fast) - before, variants.length, 'every one of them was answered by the fast path')
  t.equal(served(fastify), 0, 'and none with the fast path off')
  const hitSeries = async (h: Harness) => (await h.proxy.metrics.registry.metrics()).split('\n')
    .filter((line) => /^ccp_request(s_total|_duration_seconds_(count|bucket))\{.*cache="HIT"/.test(line))
  t.same(await hitSeries(fast), await hitSeries(fastify), 'the same HIT counts and latency buckets in /metrics')
  t.equal(fast.origin.count('GET', path), 1)
})

t.test('an X-Request-ID the upstream echoed is replayed on both paths alike; uncacheable shapes fall through to Fastify', async (t) => {
  const { fast, fastify } = await pair(t, () => ({ headers: { 'content-type': 'text/plain', 'x-request-id': 'from-upstream' }, body: 'small' }))
  for (const h of [fast, fastify]) await (await h.fetch(path, { headers: auth })).arrayBuffer()
  for (const h of [fast, fastify]) await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  for (const h of [fast, fastify]) await admitToL1(h)
  const a = await exchange(fast.url, path, auth)
  const b = await exchange(fastify.url, path, auth)
  t.same(comparable(a), comparable(b))
  t.equal(served(fast), 1)

  // No Content-Type: Fastify adds its own; the fast path leaves such an entry to it.
  const noType = await pair(t, () => ({ headers: {}, body: Buffer.from([1, 2, 3]) }))
  for (const h of [noType.fast, noType.fastify]) await (await h.fetch(path, { headers: auth })).arrayBuffer()
  for (const h of [noType.fast, noType.fastify]) await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  for (const h of [noType.fast, noType.fastify]) await admitToL1(h)
  const c = await exchange(noType.fast.url, path, auth)
  t.same(comparable(c), comparable(await exchange(noType.fastify.url, path, auth)))
  t.match(c.head, /x-cache: HIT/)
  t.equal(served(noType.fast), 0, 'served by Fastify')
})

t.test('HEAD, other methods and requests without a usable token are not answered by the fast path', async (t) => {
  const { fast, fastify } = await pair(t, () => ({ headers: { 'content-type': 'application/json' }, body: '{"a":1}' }))
  await fast.fetch(path, { headers: auth })
  t.equal((await fast.fetch(path, { headers: auth })).headers.get('x-cache'), 'HIT')
  const start = served(fast)
  await fastify.fetch(path, { headers: auth })
  for (const h of [fast, fastify]) await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  const head = await exchange(fast.url, path, auth, 'HEAD')
  t.same(comparable(head), comparable(await exchange(fastify.url, path, auth, 'HEAD')), 'HEAD: the same through Fastify')
  const post = await fast.fetch(path, { method: 'POST', headers: auth, body: 'x' })
  t.equal(post.headers.get('x-cache'), 'BYPASS')
  const forged = `${token.slice(0, -4)}AAAA`
  const withForged = await fast.fetch(path, { headers: { authorization: `Bearer ${forged}` } })
  t.equal(withForged.headers.get('x-cache'), 'BYPASS', 'a forged token never reads the cache')
  t.match(withForged.headers.get('cache-status'), /INVALID-TOKEN/)
  const none = await fast.fetch(path)
  t.equal(none.headers.get('x-cache'), 'BYPASS')
  const overridden = await fast.fetch(path, { headers: { ...auth, 'x-http-method-override': 'DELETE' } })
  t.match(overridden.headers.get('cache-status'), /METHOD-OVERRIDE/, 'checked on every request, also for a request text seen before')
  const otherTenant = await fast.fetch(path, { headers: bearer({ tenant: 't2', sub: 'u1' }) })
  t.equal(otherTenant.headers.get('x-cache'), 'MISS', 'another tenant has its own key')
  t.equal(served(fast), start, 'none of these was a fast-path hit')
})

t.test('an expired token stops reading the cache at its exp, also for a request text seen before', async (t) => {
  const h = await startHarness(t)
  const exp = Math.floor(Date.now() / 1000) + 2
  const short = { authorization: `Bearer ${makeToken({ tenant: 't1', sub: 'u1', exp })}` }
  await (await h.fetch(path, { headers: short })).arrayBuffer()
  await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  t.equal((await h.fetch(path, { headers: short })).headers.get('x-cache'), 'HIT', 'from Redis, admitting the copy to L1')
  t.equal((await h.fetch(path, { headers: short })).headers.get('x-cache'), 'HIT')
  const hits = served(h)
  t.ok(hits >= 1, 'served by the fast path')
  await eventually(async () => (await h.fetch(path, { headers: short })).headers.get('x-cache') === 'BYPASS', 6000, 'the token to expire')
  const after = await h.fetch(path, { headers: short })
  t.match(after.headers.get('cache-status'), /INVALID-TOKEN/)
  t.ok(Date.now() > exp * 1000, 'refused only after exp')
})

t.test('an invalidation on another replica removes the copy from the fast path', async (t) => {
  const h = await startHarness(t)
  const other = makeRedisStore({ url: REDIS_URL, keyPrefix: h.keyPrefix, timeoutMs: 1000, stampTtlMs: 60_000, log: makeLogger('silent') })
  t.teardown(() => other.close())
  await eventually(async () => { try { await other.ping(); return true } catch { return false } }, 5000, 'redis')
  await (await h.fetch(path, { headers: auth })).arrayBuffer()
  await eventually(async () => (await stored(h)) === 1, 5000, 'the first copy stored')
  t.equal((await h.fetch(path, { headers: auth })).headers.get('x-cache'), 'HIT', 'from Redis, admitting the copy to L1')
  t.equal((await h.fetch(path, { headers: auth })).headers.get('x-cache'), 'HIT')
  const before = served(h)
  t.ok(before >= 1)
  await other.invalidateTags(['people:t1'])
  await eventually(async () => {
    const res = await h.fetch(path, { headers: auth })
    await res.arrayBuffer()
    return res.headers.get('x-cache') === 'MISS'
  }, 5000, 'the feed to drop the copy')
  t.equal(h.origin.count('GET', path), 2)
  // A MISS's end is released before its store settles: the next request may be a collapsed HIT
  // through Fastify; the first hit from Redis admits the new copy to L1, and the fast path
  // serves it again.
  await eventually(async () => {
    const res = await h.fetch(path, { headers: auth })
    await res.arrayBuffer()
    return res.headers.get('x-cache') === 'HIT' && served(h) > before
  }, 5000, 'the new copy on the fast path')
  t.equal(h.origin.count('GET', path), 2, 'still two upstream requests')
})

t.test('a learned Vary header is part of the key on the fast path too', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = (req) => ({ headers: { 'content-type': 'text/plain', vary: 'Accept-Language' }, body: `lang=${req.headers['accept-language'] ?? ''}` })
  const get = async (lang: string) => {
    const res = await h.fetch(path, { headers: { ...auth, 'accept-language': lang } })
    return [res.headers.get('x-cache'), await res.text()]
  }
  t.same(await get('de'), ['MISS', 'lang=de'])
  await eventually(async () => (await stored(h)) === 1, 5000, 'the de copy stored')
  t.same(await get('de'), ['HIT', 'lang=de'])
  t.same(await get('fr'), ['MISS', 'lang=fr'])
  await eventually(async () => (await stored(h)) === 2, 5000, 'the fr copy stored')
  t.same(await get('fr'), ['HIT', 'lang=fr'])
  const before = served(h)
  t.same(await get('de'), ['HIT', 'lang=de'])
  t.same(await get('fr'), ['HIT', 'lang=fr'])
  t.equal(served(h) - before, 2, 'both copies from the fast path once hit from Redis')
})

t.test('a reload that drops the route is seen by the fast path at once', async (t) => {
  const h = await startHarness(t)
  await h.fetch(path, { headers: auth })
  t.equal((await h.fetch(path, { headers: auth })).headers.get('x-cache'), 'HIT')
  const { readFile, writeFile } = await import('node:fs/promises')
  const text = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, text.replace(/ {2}- name: people-search[\s\S]*?tags: \["people:\{tenant\}"\]\n/, ''))
  const result = await h.proxy.reload()
  t.ok(result.ok)
  const after = await h.fetch(path, { headers: auth })
  t.equal(after.headers.get('x-cache'), null, 'no longer a cached route: passed through')
})

t.test('L1 admits a copy on its first hit from Redis, not on the MISS that stored it', async (t) => {
  const h = await startHarness(t)
  await (await h.fetch(path, { headers: auth })).arrayBuffer()
  await eventually(async () => (await stored(h)) === 1, 5000, 'the copy stored')
  const start = served(h)
  const first = await h.fetch(path, { headers: auth })
  await first.arrayBuffer()
  t.equal(first.headers.get('x-cache'), 'HIT')
  t.equal(served(h), start, 'the first hit came from Redis: the MISS left nothing in L1')
  const second = await h.fetch(path, { headers: auth })
  await second.arrayBuffer()
  t.equal(second.headers.get('x-cache'), 'HIT')
  t.equal(served(h), start + 1, 'the second from the L1 copy the first one admitted')
  t.equal(h.origin.count('GET', path), 1)
})

t.test('a collapsed hit (the key\'s second request, waiting on the first) admits the copy to L1 too', async (t) => {
  const h = await startHarness(t)
  let release = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const respond = h.origin.respond
  h.origin.respond = async (req, body, res) => { await held; return respond(req, body, res) }
  const first = h.fetch(path, { headers: auth })
  await eventually(async () => h.origin.count('GET', path) === 1, 5000, 'the first request at the origin')
  const second = h.fetch(path, { headers: auth })
  await new Promise((resolve) => setTimeout(resolve, 100)) // the second joins the first's flight
  release()
  const [a, b] = await Promise.all([first, second])
  await Promise.all([a.arrayBuffer(), b.arrayBuffer()])
  t.equal(a.headers.get('x-cache'), 'MISS')
  t.match(b.headers.get('cache-status'), /collapsed/, 'the second waited for the first')
  const start = served(h)
  const third = await h.fetch(path, { headers: auth })
  await third.arrayBuffer()
  t.equal(third.headers.get('x-cache'), 'HIT')
  t.equal(served(h), start + 1, 'answered from L1 by the fast path')
  t.equal(h.origin.count('GET', path), 1)
})
