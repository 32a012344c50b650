import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

t.test('a GET on a cached route is a MISS, then a byte-identical HIT', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = () => ({
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-upstream-thing': 'kept', link: ['<a>; rel=next', '<b>; rel=prev'] },
    body: Buffer.from('{"tickets":[1,2,3],"note":"caf\u00e9 \u00ff"}'),
  })
  const path = '/api/v2/helpdesk/tickets/?status=open'
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const miss = await h.fetch(path, { headers })
  const missBody = Buffer.from(await miss.arrayBuffer())
  t.equal(miss.headers.get('x-cache'), 'MISS')
  t.equal(miss.headers.get('cache-status'), 'cdc-cache-proxy; fwd=uri-miss; detail=NOT-FOUND')

  const hit = await h.fetch(path, { headers })
  const hitBody = Buffer.from(await hit.arrayBuffer())
  t.equal(hit.headers.get('x-cache'), 'HIT')
  t.match(hit.headers.get('cache-status'), /^cdc-cache-proxy; hit; ttl=\d+$/)
  t.equal(hit.headers.get('age'), '0')
  t.equal(hit.status, miss.status)
  t.ok(hitBody.equals(missBody), 'body byte-identical')
  for (const name of ['content-type', 'x-upstream-thing', 'link']) t.equal(hit.headers.get(name), miss.headers.get(name), name)
  t.equal(h.origin.count('GET', path), 1, 'the upstream was asked once')
})

t.test('HEAD is answered from the GET entry without a body', async (t) => {
  const h = await startHarness(t)
  const path = '/api/v2/people/search/?q=ann'
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  await h.fetch(path, { headers })
  const head = await h.fetch(path, { method: 'HEAD', headers })
  t.equal(head.headers.get('x-cache'), 'HIT')
  t.equal(await head.text(), '')
  t.equal(h.origin.count('HEAD', path), 0)
})

t.test('requests outside configured routes are passed through without X-Cache', async (t) => {
  const h = await startHarness(t)
  const res = await h.fetch('/api/v2/other/', { headers: bearer({ tenant: 't1', sub: 'u1' }) })
  t.equal(res.headers.get('x-cache'), null)
  await h.fetch('/api/v2/other/', { headers: bearer({ tenant: 't1', sub: 'u1' }) })
  t.equal(h.origin.count('GET', '/api/v2/other/'), 2)
})
