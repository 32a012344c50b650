import t from 'tap'
import { createServer } from 'node:net'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

t.test('other methods, bodies, statuses and headers pass through unchanged', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = (req, body) => ({ status: 201, headers: { 'x-custom': 'v', 'content-type': 'application/json' }, body: JSON.stringify({ method: req.method, got: body.toString() }) })
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const res = await h.fetch('/api/v2/helpdesk/tickets/?x=1', { method, headers: { ...bearer({ tenant: 't', sub: 'u' }), 'content-type': 'application/json' }, body: '{"a":1}' })
    t.equal(res.status, 201)
    t.equal(res.headers.get('x-custom'), 'v')
    t.same(await res.json(), { method, got: '{"a":1}' })
  }
  const seen = h.origin.requests[0]
  t.equal(seen?.url, '/api/v2/helpdesk/tickets/?x=1')
  t.equal(seen?.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen?.headers['x-forwarded-proto'], 'http')
  t.match(seen?.headers['x-forwarded-host'], /^127\.0\.0\.1:\d+$/)
})

t.test('a request id is propagated to the upstream and the client, or made', async (t) => {
  const h = await startHarness(t)
  const given = await h.fetch('/anything', { headers: { 'x-correlation-id': 'abc-123' } })
  t.equal(given.headers.get('x-request-id'), 'abc-123')
  t.equal(h.origin.requests[0]?.headers['x-request-id'], 'abc-123')
  const made = await h.fetch('/anything', { headers: { 'x-request-id': 'bad id with spaces' } })
  t.match(made.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)
})

t.test('large bodies stream through both ways', async (t) => {
  const h = await startHarness(t)
  const big = Buffer.alloc(20 << 20, 'z')
  h.origin.respond = (_req, body) => ({ headers: { 'content-type': 'application/octet-stream' }, body: Buffer.concat([body, big]) })
  const res = await h.fetch('/upload', { method: 'POST', body: Buffer.alloc(5 << 20, 'u'), headers: { 'content-type': 'application/octet-stream' } })
  t.equal((await res.arrayBuffer()).byteLength, (20 << 20) + (5 << 20))
})

t.test('an unreachable upstream is a clear 502', async (t) => {
  const h = await startHarness(t)
  await h.origin.close()
  const res = await h.fetch('/api/v2/helpdesk/tickets/', { headers: bearer({ tenant: 't', sub: 'u' }) })
  t.equal(res.status, 502)
  t.equal(res.headers.get('x-cache'), 'MISS')
  t.match(await res.json(), { code: 'CCP_UPSTREAM_UNREACHABLE' })
})

t.test('an upstream that does not answer in time is a clear 504', async (t) => {
  // A socket that accepts and never answers.
  const sockets = new Set<import('node:net').Socket>()
  const silent = createServer((socket) => { sockets.add(socket) })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()) }))
  const port = (silent.address() as { port: number }).port
  const h = await startHarness(t, { extra: 'upstreamTimeout: 300ms', env: { UPSTREAM_URL: `http://127.0.0.1:${port}` } })
  const res = await h.fetch('/slow')
  t.equal(res.status, 504)
  t.match(await res.json(), { code: 'CCP_UPSTREAM_TIMEOUT' })
})
