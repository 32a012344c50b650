import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import type { OriginReply } from '../helpers/origin.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })

const cases: { name: string; reply: OriginReply; reason: string }[] = [
  { name: 'a status outside the route list', reply: { status: 404, body: 'nope' }, reason: 'UNCACHEABLE-STATUS' },
  { name: 'a 500', reply: { status: 500, body: 'boom' }, reason: 'UNCACHEABLE-STATUS' },
  { name: 'Set-Cookie', reply: { headers: { 'set-cookie': 'sid=1' }, body: 'x' }, reason: 'UNCACHEABLE-SET-COOKIE' },
  { name: 'Cache-Control: no-store', reply: { headers: { 'cache-control': 'no-store' }, body: 'x' }, reason: 'UNCACHEABLE-NO-STORE' },
  { name: "Django's never_cache", reply: { headers: { 'cache-control': 'max-age=0, no-cache, no-store, must-revalidate, private' }, body: 'x' }, reason: 'UNCACHEABLE-NO-STORE' },
  { name: 'Cache-Control: private', reply: { headers: { 'cache-control': 'private, max-age=60' }, body: 'x' }, reason: 'UNCACHEABLE-PRIVATE' },
  { name: 'Vary: *', reply: { headers: { vary: '*' }, body: 'x' }, reason: 'UNCACHEABLE-VARY' },
  { name: 'a declared size above the limit', reply: { headers: { 'content-length': '3000' }, body: 'x'.repeat(3000) }, reason: 'TOO-LARGE' },
]

for (const c of cases) {
  t.test(`${c.name} is passed on and never stored`, async (t) => {
    const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, maxEntrySize: 2kb }\n' })
    h.origin.respond = () => c.reply
    for (let i = 0; i < 2; i++) {
      const res = await h.fetch('/r/', { headers })
      t.equal(res.status, c.reply.status ?? 200)
      t.equal(res.headers.get('x-cache'), 'MISS')
      t.match(res.headers.get('cache-status'), new RegExp(`detail=${c.reason}$`))
      t.equal(await res.text(), String(c.reply.body))
    }
    t.equal(h.origin.count('GET', '/r/'), 2)
  })
}

t.test('a streamed body that grows past the limit is passed on whole and not stored', async (t) => {
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, maxEntrySize: 1kb }\n' })
  h.origin.respond = (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }) // chunked: no content-length
    for (let i = 0; i < 100; i++) res.write('y'.repeat(100))
    res.end()
    return undefined
  }
  for (let i = 0; i < 2; i++) {
    const res = await h.fetch('/r/', { headers })
    t.equal(res.headers.get('x-cache'), 'MISS')
    t.equal((await res.text()).length, 10_000)
  }
  t.equal(h.origin.count('GET', '/r/'), 2)
})

t.test('a configured status list admits other statuses', async (t) => {
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant, statuses: [200, 404] }\n' })
  h.origin.respond = () => ({ status: 404, body: 'gone' })
  await h.fetch('/r/', { headers })
  const res = await h.fetch('/r/', { headers })
  t.equal(res.status, 404)
  t.equal(res.headers.get('x-cache'), 'HIT')
})
