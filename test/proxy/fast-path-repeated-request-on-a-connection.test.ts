import t, { type Test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { makeLogger } from '../../src/logger.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { CONTRACT_ROUTES, eventually, startHarness, type Harness } from '../helpers/proxy.js'
import { headerOf, openConnection, type RawConnection } from '../helpers/raw-connection.js'
import { makeToken } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'

/**
 * A keep-alive connection that sends the same request again is answered from what its last
 * fast-path hit decided, without the request's text being hashed or its headers parsed again
 * (cache-hooks.ts, repeatedOnConnection). Each test sends on one raw connection, so every
 * request after the first hit takes that path; any change to the request, the config or the
 * clock must be decided afresh, exactly as on a new connection.
 */

const path = '/api/v2/people/search/?q=conn'
const token = makeToken({ tenant: 't1', sub: 'u1' })
const auth = { authorization: `Bearer ${token}` }

function served(h: Harness): number {
  return (h.proxy.app as unknown as { l1FastPath: { served(): number } }).l1FastPath.served()
}

async function stored(h: Harness): Promise<number> {
  const metric = await h.proxy.metrics.stores.get()
  return metric.values.filter((v) => v.labels.outcome === 'stored').reduce((sum, v) => sum + v.value, 0)
}

/** The copy stored, then one hit from Redis (which admits it to L1): the next hit may come from the fast path. */
async function primed(h: Harness, target = path, headers: Record<string, string> = auth): Promise<void> {
  await (await h.fetch(target, { headers })).arrayBuffer()
  await eventually(async () => (await stored(h)) >= 1, 5000, 'the copy stored')
  const res = await h.fetch(target, { headers })
  await res.arrayBuffer()
  if (res.headers.get('x-cache') !== 'HIT') throw new Error(`expected a HIT from Redis, got ${res.headers.get('x-cache')}`)
}

async function connection(t: Test, h: Harness): Promise<RawConnection> {
  const conn = await openConnection(h.url)
  t.teardown(() => conn.close())
  return conn
}

const xcache = (head: string) => headerOf(head, 'x-cache')

t.test('a connection that repeats its request gets fast-path hits, each with a request id of its own', async (t) => {
  const h = await startHarness(t)
  await primed(h)
  const conn = await connection(t, h)
  const before = served(h)
  const answers = [await conn.send(path, auth), await conn.send(path, auth), await conn.send(path, auth)]
  t.same(answers.map((a) => xcache(a.head)), ['HIT', 'HIT', 'HIT'])
  t.equal(served(h) - before, 3, 'all three from the fast path')
  t.same(answers.map((a) => a.body.toString()), Array(3).fill(answers[0]?.body.toString()), 'the same bytes')
  t.match(JSON.parse(answers[0]?.body.toString() ?? '{}'), { tenant: 't1', url: path })
  const ids = answers.map((a) => headerOf(a.head, 'x-request-id'))
  t.equal(new Set(ids).size, 3, 'a new X-Request-ID per response, though the headers object is reused')
  const echoed = [await conn.send(path, { ...auth, 'x-request-id': 'mine-1' }), await conn.send(path, { ...auth, 'x-request-id': 'mine-1' })]
  t.same(echoed.map((a) => headerOf(a.head, 'x-request-id')), ['mine-1', 'mine-1'], "the client's own id, on the repeat too")
  t.equal(h.origin.count('GET', path), 1)
})

t.test('any change to the request on the same connection is decided again', async (t) => {
  const h = await startHarness(t, { routes: CONTRACT_ROUTES.replace('    scope: tenant\n', '    scope: tenant\n    honourClientNoCache: true\n') })
  await primed(h)
  const conn = await connection(t, h)
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT')
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT', 'the repeat')
  const overridden = await conn.send(path, { ...auth, 'x-http-method-override': 'DELETE' })
  t.match(headerOf(overridden.head, 'cache-status'), /METHOD-OVERRIDE/, 'a header added: method override')
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT', 'and back')
  const refresh = await conn.send(path, { ...auth, 'cache-control': 'no-cache' })
  t.match(headerOf(refresh.head, 'cache-status'), /CLIENT-NO-CACHE/, 'client no-cache on a route that honours it')
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT')
  const other = await conn.send(path, { authorization: `Bearer ${makeToken({ tenant: 't2', sub: 'u9' })}` })
  t.equal(xcache(other.head), 'MISS', "another tenant's token: its own key")
  t.match(JSON.parse(other.body.toString()), { tenant: 't2' }, "and the upstream's answer for it, not t1's entry")
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT')
  const forged = await conn.send(path, { authorization: `Bearer ${token.slice(0, -4)}AAAA` })
  t.match(headerOf(forged.head, 'cache-status'), /INVALID-TOKEN/, 'a forged token (only its signature differs) never reads the cache')
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT')
  const otherHost = await conn.send(path, { ...auth, host: 'other.example' })
  t.equal(xcache(otherHost.head), 'MISS', 'another Host: another key')
  const reordered = await conn.send(path, { 'x-extra': '1', ...auth })
  t.equal(xcache(reordered.head), 'HIT', 'another header block with the same meaning: decided again, still the hit')
  t.equal(h.origin.count('GET', path), 6, 'the first fetch, the override and no-cache bypasses, t2, the forged token, the other Host')
})

t.test('a reload, an invalidation and the token expiring reach a repeated request at once', async (t) => {
  const h = await startHarness(t)
  const other = makeRedisStore({ url: REDIS_URL, keyPrefix: h.keyPrefix, timeoutMs: 1000, stampTtlMs: 60_000, log: makeLogger('silent') })
  t.teardown(() => other.close())
  await eventually(async () => { try { await other.ping(); return true } catch { return false } }, 5000, 'redis')
  const exp = Math.floor(Date.now() / 1000) + 3
  const short = { authorization: `Bearer ${makeToken({ tenant: 't1', sub: 'u1', exp })}` }
  await primed(h, path, short)
  const conn = await connection(t, h)
  t.equal(xcache((await conn.send(path, short)).head), 'HIT')
  const before = served(h)
  t.equal(xcache((await conn.send(path, short)).head), 'HIT', 'the repeat')
  t.equal(served(h), before + 1)

  await other.invalidateTags(['people:t1'])
  await eventually(async () => xcache((await conn.send(path, short)).head) === 'MISS', 5000, 'the feed to drop the copy')

  await eventually(async () => xcache((await conn.send(path, short)).head) === 'HIT' && served(h) > before + 1, 5000, 'the new copy on the fast path')
  await eventually(async () => {
    const answer = await conn.send(path, short)
    return /INVALID-TOKEN/.test(headerOf(answer.head, 'cache-status') ?? '')
  }, 8000, 'the token to expire')
  t.ok(Date.now() > exp * 1000, 'refused only after exp')

  await primed(h)
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT')
  t.equal(xcache((await conn.send(path, auth)).head), 'HIT', 'the repeat, before the reload')
  const text = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, text.replace(/ {2}- name: people-search[\s\S]*?tags: \["people:\{tenant\}"\]\n/, ''))
  t.ok((await h.proxy.reload()).ok)
  t.equal(xcache((await conn.send(path, auth)).head), undefined, 'no longer a cached route: passed through')
})
