import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { rawRequest } from '../helpers/raw-request.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })

t.test('parameter order does not matter; values and repeated order do', async (t) => {
  const h = await startHarness(t)
  const base = '/api/v2/people/search/'
  await h.fetch(`${base}?q=ann&limit=20`, { headers })
  t.equal((await h.fetch(`${base}?limit=20&q=ann`, { headers })).headers.get('x-cache'), 'HIT')
  t.equal((await h.fetch(`${base}?limit=20&q=an%6E`, { headers })).headers.get('x-cache'), 'HIT', 'percent-encoding of the same text')
  t.equal((await h.fetch(`${base}?limit=21&q=ann`, { headers })).headers.get('x-cache'), 'MISS')
  await h.fetch(`${base}?s=1&s=2`, { headers })
  t.equal((await h.fetch(`${base}?s=2&s=1`, { headers })).headers.get('x-cache'), 'MISS', 'repeated values keep their order')
  await h.fetch(`${base}?a`, { headers })
  t.equal((await h.fetch(`${base}?a=`, { headers })).headers.get('x-cache'), 'HIT', '`a` and `a=` are the same, as in Django')
  t.equal((await h.fetch(`${base}?q=a%26b`, { headers })).headers.get('x-cache'), 'MISS')
  t.equal((await h.fetch(`${base}?q=a&b`, { headers })).headers.get('x-cache'), 'MISS', 'an encoded & never collides with a separator')
})

t.test('ignoreQuery and the query allow-list shape the key; the upstream gets the query as sent', async (t) => {
  const h = await startHarness(t, { routes: `routes:
  - { name: ignore, path: /ignore/, ttl: 1m, scope: tenant, ignoreQuery: ["utm_*", "_"] }
  - { name: allow, path: /allow/, ttl: 1m, scope: tenant, query: [q, page] }
` })
  const sent = '/ignore/?q=1&utm_source=x&_=123&%71=2'
  await rawRequest(h.url, sent, { headers })
  t.equal(h.origin.requests[0]?.url, sent, 'query forwarded byte for byte')
  t.equal((await h.fetch('/ignore/?%71=2&q=1&utm_medium=y&_=9', { headers })).headers.get('x-cache'), 'MISS', 'repeated q keeps order: 1,2 differs from 2,1')
  t.equal((await h.fetch('/ignore/?q=1&q=2&_=9', { headers })).headers.get('x-cache'), 'HIT')
  await h.fetch('/allow/?q=x&page=2&debug=1', { headers })
  t.equal((await h.fetch('/allow/?page=2&q=x&other=7', { headers })).headers.get('x-cache'), 'HIT')
})

t.test('malformed percent-encoding is keyed apart from every decodable value', async (t) => {
  const h = await startHarness(t)
  const base = '/api/v2/people/search/'
  await rawRequest(h.url, `${base}?q=%zz`, { headers })
  const res = await rawRequest(h.url, `${base}?q=%25zz`, { headers })
  t.equal(res.headers['x-cache'], 'MISS')
})

t.test('the Host header is part of the key', async (t) => {
  const h = await startHarness(t)
  await rawRequest(h.url, '/api/v2/people/search/', { headers: { ...headers, host: 'a.example' } })
  const other = await rawRequest(h.url, '/api/v2/people/search/', { headers: { ...headers, host: 'b.example' } })
  t.equal(other.headers['x-cache'], 'MISS')
  t.equal(h.origin.requests[1]?.headers['x-forwarded-host'], 'b.example')
})
