import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { breakFirstAnswer, receive, startRawOrigin } from '../helpers/raw-origin.js'
import { bearer } from '../helpers/tokens.js'

/**
 * The upstream resets the connection in the middle of a body (declared length or chunked)
 * or before any byte: the client's response is ended as failed (never left hanging, never
 * presented as complete), nothing partial is stored (the next request is a MISS answered in
 * full), and a reset before the headers is a 502.
 */
const routes = 'routes:\n  - { name: reset, path: /reset/*, ttl: 10m, scope: tenant }\n'
const headers = bearer({ tenant: 't1', sub: 'u1' })
const body = JSON.stringify({ full: 'y'.repeat(600) })

t.test('a reset mid-body stores nothing and ends the client response', async (t) => {
  const origin = await startRawOrigin()
  t.teardown(() => origin.close())
  const h = await startHarness(t, { routes, extra: 'upstreamTimeout: 2s\n', env: { UPSTREAM_URL: origin.url } })
  breakFirstAnswer(origin, (target, socket) => {
    const half = body.slice(0, body.length / 2)
    if (target.startsWith('/reset/length')) socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${half}`)
    if (target.startsWith('/reset/chunked')) socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${half.length.toString(16)}\r\n${half}\r\n`)
    if (target.startsWith('/reset/headers')) socket.write('HTTP/1.1 200 OK\r\nContent-Type: appl')
    socket.resetAndDestroy()
  })

  for (const [path, init] of [['/reset/length', headers], ['/reset/chunked', headers], ['/reset/length-bypass', {}]] as const) {
    const first = await receive(h.url + path, init)
    t.notOk(first.complete && first.body === body, `${path}: the client does not get a complete-looking body (${first.status}, ${first.body.length} bytes, ${first.error ?? 'ended'})`)
    t.notMatch(first.error ?? '', /no (end of the )?response after/, `${path}: the proxy ended the client's response, it is not left hanging`)
    const second = await receive(h.url + path, init)
    if (init === headers) t.equal(second.headers['x-cache'], 'MISS', `${path}: nothing partial was stored`)
    t.same(JSON.parse(second.body), { url: path, good: true }, `${path}: the next request is answered in full`)
  }
  for (const path of ['/reset/headers', '/reset/before-any-byte']) {
    const first = await receive(h.url + path, headers)
    t.equal(first.status, 502, `${path}: a reset before the headers is a 502`)
    t.match(JSON.parse(first.body || '{}'), { code: 'CCP_UPSTREAM_UNREACHABLE' })
    const second = await receive(h.url + path, headers)
    t.equal(second.headers['x-cache'], 'MISS')
    const third = await receive(h.url + path, headers)
    t.equal(third.headers['x-cache'], 'HIT', `${path}: the complete answer is stored (second ${String(second.headers['cache-status'])}, third ${String(third.headers['cache-status'])})`)
  }
})
