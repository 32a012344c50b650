import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const auth = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=e'

t.test('If-None-Match on a hit answers 304 without a body, also with Cache-Control: no-cache', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = () => ({ headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60' }, body: '{"a":1}' })
  await h.fetch(path, { headers: auth })
  const hit = await h.fetch(path, { headers: auth })
  const etag = hit.headers.get('etag') ?? ''
  t.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag from the body hash')
  const variants: Record<string, string>[] = [{}, { 'cache-control': 'no-cache' }, { 'if-none-match': `W/${etag}` }]
  for (const extra of variants) {
    const res = await h.fetch(path, { headers: { ...auth, 'if-none-match': etag, ...extra } })
    t.equal(res.status, 304)
    t.equal(res.headers.get('x-cache'), 'HIT')
    t.equal(res.headers.get('etag'), etag)
    t.equal(res.headers.get('cache-control'), 'max-age=60')
    t.equal(await res.text(), '')
  }
  const other = await h.fetch(path, { headers: { ...auth, 'if-none-match': '"something-else"' } })
  t.equal(other.status, 200)
  t.equal(await other.text(), '{"a":1}')
  t.equal(h.origin.count('GET', path), 1)
})

t.test("the upstream's strong ETag is kept; If-Modified-Since uses its Last-Modified", async (t) => {
  const h = await startHarness(t)
  h.origin.respond = () => ({ headers: { etag: '"v42"', 'last-modified': 'Tue, 10 Nov 2026 10:00:00 GMT' }, body: 'x' })
  await h.fetch(path, { headers: auth })
  const hit = await h.fetch(path, { headers: auth })
  t.equal(hit.headers.get('etag'), '"v42"')
  t.equal((await h.fetch(path, { headers: { ...auth, 'if-modified-since': 'Tue, 10 Nov 2026 10:00:00 GMT' } })).status, 304)
  t.equal((await h.fetch(path, { headers: { ...auth, 'if-modified-since': 'Mon, 09 Nov 2026 10:00:00 GMT' } })).status, 200)
  t.equal((await h.fetch(path, { headers: { ...auth, 'if-none-match': '"nope"', 'if-modified-since': 'Tue, 10 Nov 2026 10:00:00 GMT' } })).status, 200, 'If-None-Match wins over If-Modified-Since')
})
