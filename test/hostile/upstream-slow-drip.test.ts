import t from 'tap'
import type net from 'node:net'
import { startHarness } from '../helpers/proxy.js'
import { breakFirstAnswer, receive, startRawOrigin } from '../helpers/raw-origin.js'
import { bearer } from '../helpers/tokens.js'

/**
 * A slow upstream: a body dripped a few bytes at a time (each gap shorter than
 * upstreamTimeout) arrives whole and is stored whole; a drip that stops, or headers that
 * never come, end in a truncated response or a 504 and store nothing, so the next request
 * is a MISS answered in full. The drip's pace is the origin's behaviour, not a wait.
 */
const routes = 'routes:\n  - { name: drip, path: /drip/*, ttl: 10m, scope: tenant }\n'
const headers = bearer({ tenant: 't1', sub: 'u1' })
const body = JSON.stringify({ drip: 'x'.repeat(400) })

function drip(socket: net.Socket, pieces: string[], gapMs: number, stopAfter = Infinity): void {
  let sent = 0
  const next = () => {
    if (socket.destroyed || sent >= Math.min(pieces.length, stopAfter)) return
    socket.write(pieces[sent++] as string)
    setTimeout(next, gapMs)
  }
  next()
}

function split(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts)
  return Array.from({ length: parts }, (_, i) => text.slice(i * size, (i + 1) * size))
}

t.test('slow drips within the timeout are stored whole; stalled ones store nothing', async (t) => {
  const origin = await startRawOrigin()
  t.teardown(() => origin.close())
  const h = await startHarness(t, { routes, extra: 'upstreamTimeout: 1s\n', env: { UPSTREAM_URL: origin.url } })
  breakFirstAnswer(origin, (target, socket) => {
    const head = (framing: string) => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`
    const chunked = split(body, 8).map((piece) => `${piece.length.toString(16)}\r\n${piece}\r\n`).concat('0\r\n\r\n')
    if (target === '/drip/length') drip(socket, [head(`Content-Length: ${body.length}`), ...split(body, 8)], 150)
    else if (target === '/drip/chunked') drip(socket, [head('Transfer-Encoding: chunked'), ...chunked], 150)
    else if (target === '/drip/stalls' || target === '/drip/stalls-bypass') drip(socket, [head(`Content-Length: ${body.length}`), ...split(body, 8)], 50, 4)
    else if (target === '/drip/stalls-chunked') drip(socket, [head('Transfer-Encoding: chunked'), ...chunked], 50, 4)
    // '/drip/no-headers': nothing at all
  })

  for (const path of ['/drip/length', '/drip/chunked']) {
    const first = await receive(h.url + path, headers)
    t.ok(first.complete, `${path}: the dripped body arrived complete`)
    t.equal(first.body, body)
    t.equal(first.headers['x-cache'], 'MISS')
    const second = await receive(h.url + path, headers)
    t.equal(second.headers['x-cache'], 'HIT', `${path}: stored once complete`)
    t.equal(second.body, body, `${path}: the hit is byte-identical`)
  }

  // Without identity (BYPASS, not teed for the store) the same stall, for comparison.
  const passed = await receive(h.url + '/drip/stalls-bypass', {})
  t.notMatch(passed.error ?? '', /no (end of the )?response after/, `a stalled BYPASS response is ended by the proxy (${passed.error ?? 'ended'})`)
  for (const path of ['/drip/stalls', '/drip/stalls-chunked']) {
    const first = await receive(h.url + path, headers)
    t.notOk(first.complete && first.body === body, `${path}: the stalled body did not arrive whole (${first.status}, ${first.body.length} bytes${first.error ? `, ${first.error}` : ''})`)
    t.notMatch(first.error ?? '', /no (end of the )?response after/, `${path}: the proxy ends the client's response once the upstream body timed out, it does not leave it hanging`)
    const second = await receive(h.url + path, headers)
    t.equal(second.headers['x-cache'], 'MISS', `${path}: nothing partial was stored`)
    t.same(JSON.parse(second.body), { url: path, good: true })
    t.equal((await receive(h.url + path, headers)).headers['x-cache'], 'HIT', `${path}: the complete answer is stored`)
  }

  const silent = await receive(h.url + '/drip/no-headers', headers)
  t.equal(silent.status, 504, 'headers that never come: 504')
  t.match(JSON.parse(silent.body), { code: 'CCP_UPSTREAM_TIMEOUT' })
  const after = await receive(h.url + '/drip/no-headers', headers)
  t.equal(after.headers['x-cache'], 'MISS', 'then a MISS answered in full')
  t.same(JSON.parse(after.body), { url: '/drip/no-headers', good: true })
})
