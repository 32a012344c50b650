import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-request.js'

const identity = 'identity:\n  header: { tenant: x-tenant-id, user: x-user-id }\n'
const path = '/api/v2/helpdesk/tickets/'

t.test('behind a gateway, the tenant and user come from trusted headers', async (t) => {
  const h = await startHarness(t, { identity })
  await h.fetch(path, { headers: { 'x-tenant-id': 'A', 'x-user-id': '1' } })
  t.equal((await h.fetch(path, { headers: { 'x-tenant-id': 'A', 'x-user-id': '1' } })).headers.get('x-cache'), 'HIT')
  t.equal((await h.fetch(path, { headers: { 'x-tenant-id': 'B', 'x-user-id': '1' } })).headers.get('x-cache'), 'MISS')
  t.equal((await h.fetch(path, { headers: { 'x-tenant-id': 'A', 'x-user-id': '2' } })).headers.get('x-cache'), 'MISS')
  const none = await h.fetch(path)
  t.equal(none.headers.get('x-cache'), 'BYPASS')
  t.match(none.headers.get('cache-status'), /NO-IDENTITY/)
})

t.test('a repeated identity header is refused rather than guessed', async (t) => {
  const h = await startHarness(t, { identity })
  const { request } = await import('node:http')
  const res = await new Promise<{ headers: Record<string, unknown> }>((resolve, reject) => {
    const url = new URL(h.url)
    const req = request({ host: url.hostname, port: url.port, path, headers: { 'x-tenant-id': ['A', 'B'], 'x-user-id': '1' } }, (r) => { r.resume(); r.on('end', () => resolve({ headers: r.headers })) })
    req.on('error', reject)
    req.end()
  })
  t.equal(res.headers['x-cache'], 'BYPASS')
  t.match(res.headers['cache-status'], /INVALID-TOKEN/)
  const ok = await rawRequest(h.url, path, { headers: { 'x-tenant-id': 'A', 'x-user-id': '1' } })
  t.equal(ok.headers['x-cache'], 'MISS')
})
