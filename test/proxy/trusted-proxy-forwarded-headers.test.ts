import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'
import { rawRequest } from '../helpers/raw-request.js'

const auth = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=tls'

/** An upstream that builds links from X-Forwarded-Proto/-Host, as Django does with SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST. */
const linking = (req: IncomingMessage) => ({
  headers: { 'content-type': 'text/plain' },
  body: `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}/next`,
})

/** The ingress in front terminates TLS and says so; the tests' client connects from loopback. */
const fromIngress = (proto: string, host = 'api.example.com') => ({ ...auth, host: 'api.example.com', 'x-forwarded-proto': proto, 'x-forwarded-host': host })

t.test('from a trusted proxy, X-Forwarded-Proto and -Host reach the upstream and key the entry', async (t) => {
  const h = await startHarness(t, { extra: 'trustedProxies: [loopback]\n' })
  h.origin.respond = linking
  const https = await rawRequest(h.url, path, { headers: fromIngress('https') })
  t.equal(https.body.toString(), 'https://api.example.com/next')
  t.equal(h.origin.requests[0]?.headers['x-forwarded-proto'], 'https')
  // MISS, HIT from Redis (admits the L1 copy), HIT from L1: none of them crosses schemes.
  t.equal((await rawRequest(h.url, path, { headers: fromIngress('https') })).headers['x-cache'], 'HIT')
  t.equal((await rawRequest(h.url, path, { headers: fromIngress('https') })).body.toString(), 'https://api.example.com/next')

  const http = await rawRequest(h.url, path, { headers: fromIngress('http') })
  t.equal(http.headers['x-cache'], 'MISS', 'a response with https links is never served to a plain-http client')
  t.equal(http.body.toString(), 'http://api.example.com/next')
  const otherHost = await rawRequest(h.url, path, { headers: fromIngress('https', 'www.example.com') })
  t.equal(otherHost.headers['x-cache'], 'MISS', 'nor one built for another forwarded host')
  t.equal(otherHost.body.toString(), 'https://www.example.com/next')
})

t.test('only the last value counts, and a value that is no scheme or host is replaced by what the proxy saw', async (t) => {
  const h = await startHarness(t, { extra: 'trustedProxies: [127.0.0.1]\n' })
  h.origin.respond = linking
  await rawRequest(h.url, path, { headers: { ...fromIngress('http, https'), 'x-forwarded-host': 'spoofed.example, api.example.com' } })
  t.equal(h.origin.requests[0]?.headers['x-forwarded-proto'], 'https', 'the nearest proxy\'s value')
  t.equal(h.origin.requests[0]?.headers['x-forwarded-host'], 'api.example.com')
  await rawRequest(h.url, '/api/v2/people/search/?q=odd', { headers: { ...fromIngress('javascript'), 'x-forwarded-host': 'evil.example/path' } })
  t.equal(h.origin.requests[1]?.headers['x-forwarded-proto'], 'http')
  t.equal(h.origin.requests[1]?.headers['x-forwarded-host'], 'api.example.com')
})

t.test('from any other peer, the client\'s X-Forwarded-Proto and -Host are replaced', async (t) => {
  const h = await startHarness(t, { extra: 'trustedProxies: [10.0.0.0/8]\n' })
  h.origin.respond = linking
  const res = await rawRequest(h.url, path, { headers: fromIngress('https', 'evil.example') })
  t.equal(res.body.toString(), 'http://api.example.com/next')
  const untrustedAgain = await rawRequest(h.url, path, { headers: fromIngress('http', 'other.example') })
  t.equal(untrustedAgain.headers['x-cache'], 'HIT', 'the ignored headers are not part of the key either')
})
