import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { breakFirstAnswer, okResponse, receive, startRawOrigin } from '../helpers/raw-origin.js'
import { bearer } from '../helpers/tokens.js'

/**
 * Responses with broken framing: a Content-Length that is not a number, negative, signed,
 * listed twice with different values, together with Transfer-Encoding (the request
 * smuggling shape), longer than the body, or shorter than the body with a whole second
 * response hidden in the surplus (response splitting on a kept-alive connection). None may
 * crash the proxy, none may leave the client hanging, nothing they carry may be stored
 * for another request, and the hidden response must never answer anyone.
 */
const routes = 'routes:\n  - { name: framing, path: /framing/*, ttl: 10m, scope: tenant }\n'
const headers = bearer({ tenant: 't1', sub: 'u1' })
const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"smuggled":"yes!!"}'

const CASES: Record<string, string> = {
  'not-a-number': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{"bad":1}',
  negative: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -9\r\n\r\n{"bad":1}',
  signed: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: +9\r\n\r\n{"bad":1}',
  'two-different': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nContent-Length: 4\r\n\r\n{"bad":1}',
  'list-in-one-header': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9, 4\r\n\r\n{"bad":1}',
  'with-transfer-encoding': `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"bad":1}\r\n0\r\n\r\n`,
  'longer-than-body': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"bad":1}',
  'shorter-with-hidden-response': `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"bad":1}${SMUGGLED}`,
  'huge': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{"bad":1}',
}

t.test('broken framing never crashes, hangs, or stores anything for another request', async (t) => {
  const origin = await startRawOrigin()
  t.teardown(() => origin.close())
  const h = await startHarness(t, { routes, extra: 'upstreamTimeout: 2s\n', env: { UPSTREAM_URL: origin.url } })
  breakFirstAnswer(origin, (target, socket) => {
    const bad = CASES[target.split('/')[2] ?? '']
    if (bad === undefined) return void socket.write(okResponse(target))
    socket.write(bad)
    // The longer-than-body case keeps the connection open: the timeout must end it.
    if (!target.includes('longer-than-body') && !target.includes('shorter-with-hidden-response')) socket.end()
  })
  const report: string[] = []
  for (const name of Object.keys(CASES)) {
    const path = `/framing/${name}`
    const first = await receive(h.url + path, headers)
    t.notMatch(first.error ?? '', /no (end of the )?response after/, `${name}: the client's response ends (${first.status}, ${first.error ?? 'complete'})`)
    t.notOk(first.body.includes('smuggled'), `${name}: the hidden response never answers`)
    const next = await receive(h.url + `/framing/next-${name}`, headers)
    t.same(next.body ? JSON.parse(next.body) : null, { url: `/framing/next-${name}`, good: true }, `${name}: the next request on the pool gets its own answer`)
    const again = await receive(h.url + path, headers)
    t.notOk(again.body.includes('smuggled'), `${name}: the hidden response was never stored`)
    if (again.headers['x-cache'] === 'HIT') {
      // Only a response complete per its own framing may be kept: exactly what its first client got.
      t.ok(first.complete && first.status === 200, `${name}: stored only because its declared length was complete`)
      t.equal(again.body, first.body, `${name}: the hit is what the first client got`)
    } else t.same(again.body ? JSON.parse(again.body) : null, { url: path, good: true }, `${name}: nothing was stored; the retry is answered in full`)
    report.push(`${name}: ${first.status} ${String(first.headers['x-cache'] ?? '-')} ${first.complete ? 'complete' : first.error ?? 'cut'} -> retry ${String(again.headers['x-cache'])}`)
  }
  t.comment(report.join('; '))
  t.equal((await receive(h.url + '/framing/alive', headers)).status, 200, 'the proxy is alive')
})
