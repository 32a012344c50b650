import t from 'tap'
import { startHarness, eventually } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { makePrivateRedis } from '../helpers/redis-server.js'

t.test('with Redis down requests are served from the upstream as BYPASS, and caching resumes when it returns', async (t) => {
  const redis = await makePrivateRedis()
  await redis.start()
  t.teardown(() => redis.stop())
  const h = await startHarness(t, { redisUrl: redis.url })
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/'
  await h.fetch(path, { headers })
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')

  await redis.stop()
  // The in-process L1 may answer for up to store.l1.maxAge (1 s) after Redis goes: a valid
  // copy, never a 5xx. Then every request is served from the upstream.
  await eventually(async () => {
    const res = await h.fetch(path, { headers })
    t.equal(res.status, 200, 'never a 5xx caused by the cache')
    return res.headers.get('x-cache') === 'BYPASS'
  }, 5000, 'BYPASS once Redis is gone')
  for (let i = 0; i < 5; i++) {
    const started = Date.now()
    const res = await h.fetch(path, { headers })
    t.equal(res.status, 200, 'never a 5xx caused by the cache')
    t.equal(res.headers.get('x-cache'), 'BYPASS')
    t.match(res.headers.get('cache-status'), /detail=STORE-UNAVAILABLE$/)
    t.ok(Date.now() - started < 2000, 'answered without waiting on Redis')
  }
  const errors = await h.proxy.metrics.storeErrors.get()
  t.ok(errors.values.reduce((sum, v) => sum + v.value, 0) >= 5, 'store errors are counted')

  await redis.start()
  await eventually(async () => (await h.fetch(path, { headers })).headers.get('x-cache') === 'MISS', 10_000, 'caching to resume')
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
})
