import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { startHarness } from '../helpers/proxy.js'
import { startOrigin } from '../helpers/origin.js'
import { rawRequest, type RawResponse } from '../helpers/raw-request.js'
import { bearer } from '../helpers/tokens.js'

/**
 * Hostile request targets: dot segments (plain and encoded), encoded slashes, empty segments,
 * trailing-slash and case variants, `;params`, malformed percent-encoding, absolute-form
 * targets and scheme-relative paths naming another host. The origin echoes the URL it
 * received, so a body shows which upstream request produced it. For every target, the
 * answer is what the upstream says for that very target (learnt by asking it without an
 * identity, which is never cached), or a refusal; never an entry stored for another path,
 * never a request sent to another host, never a 5xx made by the proxy.
 */
interface Echo { url: string; host: string | null; forwardedHost: string | null; serial: number }

const ticketPath = '/api/v2/helpdesk/tickets/'
const attendance = '/api/v2/attendance/x'
const headers = bearer({ tenant: 't1', sub: 'u1' })

function bodyOf(res: RawResponse): Echo | undefined {
  if (res.headers['x-origin'] !== 'yes') return undefined
  return JSON.parse(res.body.toString()) as Echo
}

t.test('every hostile target gets its own upstream answer or a refusal, never another entry', async (t) => {
  const h = await startHarness(t)
  const elsewhere = await startOrigin() // a host no request may ever reach
  t.teardown(() => elsewhere.close())
  const other = new URL(elsewhere.url).host
  let serial = 0
  h.origin.respond = (req: IncomingMessage) => ({
    headers: { 'content-type': 'application/json', 'x-origin': 'yes' },
    body: JSON.stringify({ url: req.url, host: req.headers.host ?? null, forwardedHost: req.headers['x-forwarded-host'] ?? null, serial: ++serial }),
  })
  for (const path of [ticketPath, attendance, `${attendance}/`, '/api/v2/attendance/']) {
    await rawRequest(h.url, path, { headers })
    t.equal((await rawRequest(h.url, path, { headers })).headers['x-cache'], 'HIT', `${path} is cached before the attack`)
  }

  const targets = [
    '/api/v2/attendance/../helpdesk/tickets/', '/api/v2/attendance/%2e%2e/helpdesk/tickets/', '/api/v2/attendance/%2E%2E/helpdesk/tickets/',
    '/api/v2/attendance/.%2e/helpdesk/tickets/', '/api/v2/attendance/x/..', '/api/v2/attendance/x/%2e%2e', '/api/v2/helpdesk/./tickets/',
    '/api/v2/attendance/./x', '/api/v2/attendance/%2e/x', '/api/v2/attendance/x%2fy', '/api/v2/attendance/x%2F..%2Fy',
    '/api/v2/attendance/..%2fhelpdesk%2ftickets%2f', '/api/v2/attendance//x', '//api/v2/helpdesk/tickets/', '/api/v2//helpdesk/tickets/',
    '/api/v2/helpdesk/tickets', '/api/v2/helpdesk/tickets//', '/API/v2/helpdesk/tickets/', '/api/V2/helpdesk/tickets/', '/api/v2/attendance/X',
    '/api/v2/helpdesk/tickets/;x=1', '/api/v2/helpdesk/tickets;x=1/', '/api/v2/attendance/x;jsessionid=1', '/api/v2/attendance/x%3bjsessionid=1',
    '/api/v2/attendance/%78', '/api/v2/attendance/x%00', '/api/v2/attendance/x%5c..%5cy', '/api/v2/attendance/x\\..\\y',
    '/api/v2/attendance/%zz', '/api/v2/attendance/%', '/api/v2/attendance/%E0%A4%A', '/api/v2/attendance/x?%zz=1',
    '/api/v2/attendance/x#fragment', '/api/v2/attendance/x?a=1#b', `/api/v2/attendance/${'x'.repeat(4000)}`,
    `http://${other}${ticketPath}`, `http://${other}${attendance}`, `//${other}${ticketPath}`, `//${other}/x`, `///${other}/x`,
    `/\\${other}/x`, `http://${new URL(h.url).host}${ticketPath}`, '*',
  ]
  const report: string[] = []
  for (const target of targets) {
    const upstreamView = await rawRequest(h.url, target) // no identity: never read from or written to the cache
    const expected = bodyOf(upstreamView)?.url
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(h.url, target, { headers })
      const body = bodyOf(res)
      t.ok(res.status < 500, `${target}: no 5xx made by the proxy (got ${res.status})`)
      if (body) t.equal(body.url, expected, `${target}: answered for the URL the upstream gets for it (${res.headers['x-cache'] ?? 'no x-cache'})`)
      else t.not(res.headers['x-cache'], 'HIT', `${target}: a refusal is never a hit`)
      if (i === 1) report.push(`${target.slice(0, 60)} -> ${res.status} ${String(res.headers['x-cache'] ?? '-')} ${String(res.headers['cache-status'] ?? '').replace('cdc-cache-proxy; ', '')} upstream=${expected?.slice(0, 60) ?? 'none'}`)
    }
  }
  t.comment(report.join('\n'))
  t.equal(elsewhere.requests.length, 0, 'no request ever reached another host')

  for (const path of [ticketPath, attendance, `${attendance}/`, '/api/v2/attendance/']) {
    const res = await rawRequest(h.url, path, { headers })
    t.equal(bodyOf(res)?.url, path, `${path} still serves its own entry after the attack (${res.headers['x-cache']})`)
  }
})

t.test('a Host header for another site gets its own entry and never changes what this site serves', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = (req: IncomingMessage) => ({
    headers: { 'content-type': 'application/json', 'x-origin': 'yes' },
    body: JSON.stringify({ url: req.url, host: req.headers.host ?? null, forwardedHost: req.headers['x-forwarded-host'] ?? null, serial: 0 }),
  })
  const own = new URL(h.url).host
  const first = await rawRequest(h.url, ticketPath, { headers: { ...headers, host: 'evil.example' } })
  t.equal(bodyOf(first)?.forwardedHost, 'evil.example', 'the upstream is told which host was asked')
  t.equal((await rawRequest(h.url, ticketPath, { headers: { ...headers, host: 'evil.example' } })).headers['x-cache'], 'HIT', 'that host has its entry')
  for (let i = 0; i < 2; i++) {
    const res = await rawRequest(h.url, ticketPath, { headers })
    t.equal(bodyOf(res)?.forwardedHost, own, `this site never gets the other site's entry (${res.headers['x-cache']})`)
  }
  for (const host of ['EVIL.example', `${own}.`, `${own}:80`, `evil.example, ${own}`]) {
    const res = await rawRequest(h.url, ticketPath, { headers: { ...headers, host } })
    t.ok(res.status < 500, `Host ${host}: no 5xx`)
    const body = bodyOf(res)
    if (body) t.equal(body.forwardedHost, host, `Host ${host}: answered for that host (${res.headers['x-cache']})`)
  }
})
