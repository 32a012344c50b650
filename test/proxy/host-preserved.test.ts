import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { rawRequest } from '../helpers/raw-request.js'

const auth = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=links'

/** An upstream that builds absolute links from its Host header, as Django and DRF's `next` do. */
const linking = (req: IncomingMessage) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ next: `http://${req.headers.host}/api/v2/people/search/?page=2` }) })

t.test('the upstream gets the client\'s Host, so its host checks and links see the public name', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = linking
  const res = await rawRequest(h.url, path, { headers: { ...auth, host: 'api.example.com' } })
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body.toString()), { next: 'http://api.example.com/api/v2/people/search/?page=2' })
  const seen = h.origin.requests[0]?.headers
  t.equal(seen?.host, 'api.example.com')
  t.equal(seen?.['x-forwarded-host'], 'api.example.com')
  t.equal(seen?.['x-forwarded-proto'], 'http')

  const other = await rawRequest(h.url, path, { headers: { ...auth, host: 'internal.example' } })
  t.equal(other.headers['x-cache'], 'MISS', 'a response built for one Host is never served for another')
  t.match(other.body.toString(), /http:\/\/internal\.example\//)
})

t.test('preserveHost: false sends the upstream URL\'s host instead', async (t) => {
  const h = await startHarness(t, { extra: 'preserveHost: false\n' })
  h.origin.respond = linking
  const res = await rawRequest(h.url, path, { headers: { ...auth, host: 'api.example.com' } })
  const upstreamHost = new URL(h.origin.url).host
  t.same(JSON.parse(res.body.toString()), { next: `http://${upstreamHost}/api/v2/people/search/?page=2` })
  t.equal(h.origin.requests[0]?.headers.host, upstreamHost)
  t.equal(h.origin.requests[0]?.headers['x-forwarded-host'], 'api.example.com', 'X-Forwarded-Host still names the client\'s')
})
