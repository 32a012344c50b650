import t from 'tap'
import { startHarness, eventually } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { startProxy } from '../../src/server.js'
import { makeLogger } from '../../src/logger.js'
import { JWT_SECRET } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'
import { rawRequest } from '../helpers/raw-request.js'

const path = '/api/v2/people/search/?q=cold'
const headers = bearer({ tenant: 't1', sub: 'u1' })

t.test('a cold key hit by 100 concurrent requests reaches the upstream once; all get the same bytes', async (t) => {
  const h = await startHarness(t)
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  h.origin.respond = async () => { await held; return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: 'x'.repeat(5000) }) } }
  const responses = Array.from({ length: 100 }, () => h.fetch(path, { headers }))
  // Hold the upstream until every follower has joined the flight (none can have been answered yet).
  await eventually(() => h.origin.count('GET', path) >= 1, 5000, 'the leader to reach the upstream')
  await new Promise((r) => setTimeout(r, 1000)) // upstream latency: lets the other 99 requests arrive
  release()
  const results = await Promise.all(responses.map(async (pending) => { const r = await pending; return { x: r.headers.get('x-cache'), status: r.headers.get('cache-status'), body: await r.text() } }))
  t.equal(h.origin.count('GET', path), 1, 'one upstream request for 100 clients')
  t.equal(new Set(results.map((r) => r.body)).size, 1, 'identical bodies')
  t.equal(results.filter((r) => r.x === 'MISS').length, 1)
  // Under a loaded machine a straggler may arrive after the store and be a plain HIT: still one upstream request.
  t.equal(results.filter((r) => r.x === 'HIT').length, 99)
  t.ok(results.filter((r) => /collapsed/.test(r.status ?? '')).length > 0, 'followers were woken by the leader')
})

t.test('followers stop waiting after coalesceWait and go to the upstream themselves', async (t) => {
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, coalesceWait: 100ms }\n' })
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  let calls = 0
  h.origin.respond = async () => { if (++calls === 1) await held; return { body: `call ${calls}` } }
  const leader = h.fetch('/r/', { headers })
  await eventually(() => calls === 1, 5000, 'the leader to hang')
  const follower = await h.fetch('/r/', { headers })
  t.equal(follower.headers.get('x-cache'), 'MISS', 'the follower gave up waiting and fetched')
  t.equal(await follower.text(), 'call 2')
  release()
  await (await leader).text()
  const waits = await h.proxy.metrics.coalesced.get()
  t.equal(waits.values.find((v) => v.labels.outcome === 'timeout')?.value, 1)
})

t.test('an uncacheable answer is remembered so later requests for the key are not serialised', async (t) => {
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant }\n' })
  let inFlight = 0
  let maxInFlight = 0
  h.origin.respond = async () => {
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    await new Promise((r) => setTimeout(r, 200)) // upstream latency
    inFlight--
    return { headers: { 'set-cookie': 'sid=1' }, body: 'personal' }
  }
  await (await h.fetch('/r/', { headers })).text() // learns: uncacheable
  await Promise.all(Array.from({ length: 5 }, async () => (await h.fetch('/r/', { headers })).text()))
  t.equal(maxInFlight, 5, 'all five went to the upstream at once (hit-for-miss)')
})

t.test('across replicas sharing Redis, a cold key costs the upstream one request', async (t) => {
  const h = await startHarness(t)
  const second = await startProxy({ configFile: h.configFile, env: { ...process.env, UPSTREAM_URL: h.origin.url, REDIS_URL, JWT_SECRET }, watch: false, log: makeLogger('silent') })
  t.teardown(() => second.close())
  await eventually(async () => { try { await second.store.ping(); return true } catch { return false } }, 5000, 'redis')
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  h.origin.respond = async () => { await held; return { body: 'shared' } }
  // Behind one load balancer both replicas see the same Host, which is part of the key.
  const sameHost = { ...headers, host: 'api.example' }
  const first = rawRequest(h.url, path, { headers: sameHost })
  await eventually(() => h.origin.count('GET', path) === 1, 5000, 'replica one to fetch')
  const other = rawRequest(second.url, path, { headers: sameHost })
  await new Promise((r) => setTimeout(r, 200)) // upstream latency: replica two is now waiting on the lock
  const released = Date.now()
  release()
  const [a, b] = await Promise.all([first, other])
  t.ok(Date.now() - released < 1500, 'replica two was woken by the fill announcement, not by the 3 s coalesceWait bound')
  t.equal(a.body.toString(), 'shared')
  t.equal(b.body.toString(), 'shared')
  t.equal(b.headers['x-cache'], 'HIT')
  t.match(b.headers['cache-status'], /collapsed/)
  t.equal(h.origin.count('GET', path), 1, 'one upstream request for the cluster')
})
