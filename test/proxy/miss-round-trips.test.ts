import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startHarness } from '../helpers/proxy.js'
import { echoReply } from '../helpers/origin.js'
import { bearer } from '../helpers/tokens.js'
import { REDIS_URL } from '../helpers/env.js'

/**
 * What a MISS costs in Redis calls, seen by Redis itself (MONITOR, filtered to this test's
 * key prefix). On a route whose lookups mostly miss (a cold one, to begin with), one call
 * before the upstream is asked: the lookup that finds nothing also takes the stamps and the
 * lock. On a route whose lookups mostly hit, the lookup is a plain MGET and the stamps with the
 * lock a second call. After the upstream, one script writes the entry and releases the lock
 * (and announces the fill only when another replica waits on it, which here none does).
 */
async function watchRedis(t: Test, keyPrefix: string) {
  const client = new Redis(REDIS_URL)
  const monitor = await client.monitor()
  t.teardown(() => { monitor.disconnect(); client.disconnect() })
  const seen: string[][] = []
  const ranByScripts: string[][] = []
  // Commands a script runs are reported too, with source 'lua': only the client's own calls count.
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args.some((arg) => arg.includes(keyPrefix))) (source === 'lua' ? ranByScripts : seen).push(args)
  })
  await sleep(100)
  return { client, seen, ranByScripts }
}

t.test('a MISS on a route whose lookups mostly miss makes one Redis call before the upstream, and its lock is gone once stored', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  await (await h.fetch('/api/v2/helpdesk/tickets/?warm=scripts', { headers })).arrayBuffer() // loads every script once

  const { client, seen, ranByScripts } = await watchRedis(t, h.keyPrefix)

  let beforeUpstream: string[][] | undefined
  h.origin.respond = async (req) => {
    await sleep(150) // every command the proxy sent so far has reached the monitor
    beforeUpstream = [...seen]
    return echoReply(req, 1)
  }
  const path = '/api/v2/helpdesk/tickets/?status=open'
  const miss = await h.fetch(path, { headers })
  await miss.arrayBuffer()
  t.equal(miss.headers.get('x-cache'), 'MISS')
  t.equal(beforeUpstream?.length, 1, `one call before the upstream: ${JSON.stringify(beforeUpstream?.map((a) => a[0]))}`)
  const lookup = beforeUpstream?.[0] ?? []
  t.equal(lookup[0]?.toLowerCase(), 'evalsha')
  t.ok(lookup.some((arg) => arg.startsWith(`${h.keyPrefix}e:`)), 'it reads the entry')
  t.ok(lookup.some((arg) => arg.startsWith(`${h.keyPrefix}l:`)), 'and names the lock')

  await sleep(200)
  const afterUpstream = seen.slice(beforeUpstream?.length ?? 0)
  t.same(afterUpstream.map((args) => args[0]?.toLowerCase()), ['evalsha'], 'one call stores and unlocks')
  t.ok(afterUpstream[0]?.some((arg) => arg.startsWith(`${h.keyPrefix}e:`)) && afterUpstream[0]?.some((arg) => arg.startsWith(`${h.keyPrefix}l:`)), 'it names the entry and the lock')
  t.same(await client.keys(`${h.keyPrefix}l:*`), [], 'the lock was released after the store')
  t.same(ranByScripts.filter((args) => args[0]?.toLowerCase() === 'publish'), [], 'no replica waited: the fill was not published')
  const hit = await h.fetch(path, { headers })
  await hit.arrayBuffer()
  t.equal(hit.headers.get('x-cache'), 'HIT')
  t.equal(h.origin.count('GET', path), 1)
})

t.test('on a route whose lookups mostly hit, a MISS looks up with a plain MGET, then takes the stamps and the lock', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const get = async (path: string) => {
    const res = await h.fetch(path, { headers })
    await res.arrayBuffer()
    return res.headers.get('x-cache')
  }
  // 24 responses stored, then each read once from Redis (L1 admits a copy on that first hit):
  // the route's recent lookups are now mostly hits.
  for (let i = 0; i < 24; i++) t.equal(await get(`/api/v2/helpdesk/tickets/?page=${i}`), 'MISS')
  await sleep(200) // the stores have settled
  for (let i = 0; i < 24; i++) t.equal(await get(`/api/v2/helpdesk/tickets/?page=${i}`), 'HIT')

  const { seen } = await watchRedis(t, h.keyPrefix)
  let beforeUpstream: string[][] | undefined
  h.origin.respond = async (req) => {
    await sleep(150)
    beforeUpstream = [...seen]
    return echoReply(req, 1)
  }
  t.equal(await get('/api/v2/helpdesk/tickets/?page=new'), 'MISS')
  // The stamps-and-lock script runs here for the first time on this connection: EVAL, not EVALSHA.
  t.same(beforeUpstream?.map((args) => (/^eval/i.test(args[0] ?? '') ? 'script' : args[0]?.toLowerCase())), ['mget', 'script'], 'the lookup, then the stamps and the lock')
  t.ok(beforeUpstream?.[1]?.some((arg) => arg.startsWith(`${h.keyPrefix}l:`)), 'the second call names the lock')
})

t.test('a key that answered uncacheably (hit-for-miss) is fetched without taking its lock', async (t) => {
  const h = await startHarness(t)
  const client = new Redis(REDIS_URL)
  t.teardown(() => client.disconnect())
  h.origin.respond = (req) => ({ ...echoReply(req, 1), headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } })
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/?uncacheable=1'
  for (let i = 0; i < 3; i++) {
    const res = await h.fetch(path, { headers })
    await res.arrayBuffer()
    t.equal(res.headers.get('x-cache'), 'MISS')
    await sleep(50)
    t.same(await client.keys(`${h.keyPrefix}l:*`), [], `no lock left behind after request ${i + 1}`)
  }
  t.equal(h.origin.count('GET', path), 3)
})
