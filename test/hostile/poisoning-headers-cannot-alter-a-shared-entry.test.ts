import t, { type Test } from 'tap'
import type { IncomingMessage } from 'node:http'
import { gunzipSync, gzipSync } from 'node:zlib'
import { startHarness, type Harness } from '../helpers/proxy.js'
import { rawRequest, type RawResponse } from '../helpers/raw-request.js'
import { bearer } from '../helpers/tokens.js'
import { acceptsEncoding } from '../../src/request/negotiate-encoding.js'

/**
 * Web cache poisoning: an attacker of tenant T sends request headers the key does not
 * include, to an upstream that (carelessly) reflects them, then another user of T asks for
 * the same key. Whatever the attacker sent, the victim must never see it, and must always
 * get a body it can read. The upstream here is the careless kind: it reflects forwarding and
 * rewrite headers into the body, gzips when asked without saying `Vary: Accept-Encoding`,
 * and sets a cookie or `private` when asked to.
 */
const routes = `routes:
  - name: reflect
    path: /reflect/*
    ttl: 10m
    scope: tenant
    tags: ["reflect:{tenant}"]
`
const REFLECTED = ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-scheme', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-host',
  'x-forwarded-ssl', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'forwarded', 'x-http-method-override', 'accept-language', 'origin', 'referer', 'user-agent', 'x-api-version']

function carelessUpstream(req: IncomingMessage) {
  const reflected = Object.fromEntries(REFLECTED.map((name) => [name, req.headers[name] ?? null]))
  const body = Buffer.from(JSON.stringify({ url: req.url, method: req.method, reflected }))
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-origin': 'yes' }
  if (req.url?.includes('/with-vary-')) headers.vary = 'Accept-Encoding'
  if (req.headers['x-want-cookie']) headers['set-cookie'] = `session=${String(req.headers['x-want-cookie'])}`
  if (req.headers['x-want-private']) headers['cache-control'] = 'private'
  if (acceptsEncoding(req.headers['accept-encoding'], 'gzip')) return { headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(body) }
  return { headers, body }
}

const attacker = bearer({ tenant: 'T', sub: 'attacker' })
const victim = bearer({ tenant: 'T', sub: 'victim' })

/** What the victim can read: the body decoded only if it said it accepts that coding. */
function readAsVictim(res: RawResponse, accepted: string | undefined): { text: string; readable: boolean } {
  const coding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase()
  if (coding === 'identity') return { text: res.body.toString(), readable: true }
  const acceptsIt = accepted !== undefined && accepted.toLowerCase().split(',').some((c) => c.trim().startsWith(coding) && !/q=0(\.0*)?$/.test(c))
  return { text: acceptsIt && coding === 'gzip' ? gunzipSync(res.body).toString() : '', readable: acceptsIt }
}

/** Forwarding and rewrite headers: frameworks build absolute URLs and schemes from them. The proxy owns these. */
const FORWARDING_POISONS: Record<string, string> = {
  'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'javascript', 'x-forwarded-port': '6666', 'x-forwarded-prefix': '/evil',
  'x-forwarded-scheme': 'nothttps', 'x-forwarded-ssl': 'evil-off', 'x-forwarded-server': 'evil.example', 'x-host': 'evil.example',
  'x-original-host': 'evil.example', forwarded: 'host=evil.example;proto=http', 'x-original-url': '/admin/evil', 'x-rewrite-url': '/admin/evil',
  'x-http-method-override': 'DELETE',
}

/** Content negotiation headers: the upstream must say Vary, or the route must list them in `vary`. */
const NEGOTIATION_POISONS: Record<string, string> = {
  'accept-language': 'evil-LANG', origin: 'https://evil.example', referer: 'https://evil.example/', 'user-agent': 'evil-agent', 'x-api-version': 'evil-v0',
}

async function attackThenVisit(t: Test, h: Harness, poisons: Record<string, string>, prefix: string): Promise<string[]> {
  const report: string[] = []
  for (const [name, value] of Object.entries(poisons)) {
    const path = `/reflect/${prefix}-${name}`
    const attack = await rawRequest(h.url, path, { headers: { ...attacker, [name]: value } })
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(h.url, path, { headers: victim })
      t.notOk(res.body.toString().includes(value), `${name}: the victim never sees "${value}" (attacker ${String(attack.headers['x-cache'])}, victim ${String(res.headers['x-cache'])})`)
      if (i === 1) report.push(`${name}: attacker ${String(attack.headers['x-cache'])}, victim ${String(res.headers['x-cache'])}${res.body.toString().includes(value) ? ' POISONED' : ''}`)
    }
  }
  return report
}

t.test('forwarding and rewrite headers sent by a client never reach another client of the same key', async (t) => {
  const h = await startHarness(t, { routes })
  h.origin.respond = carelessUpstream
  t.comment((await attackThenVisit(t, h, FORWARDING_POISONS, 'fwd')).join('; '))
})

t.test('negotiation headers cannot poison a route that lists them in vary, nor an upstream that says Vary', async (t) => {
  const names = Object.keys(NEGOTIATION_POISONS)
  const h = await startHarness(t, { routes: routes + `    vary: [${names.join(', ')}]\n  - { name: says-vary, path: /says-vary/*, ttl: 10m, scope: tenant }\n` })
  h.origin.respond = (req) => {
    const reply = carelessUpstream(req)
    return req.url?.startsWith('/says-vary/') ? { ...reply, headers: { ...reply.headers, vary: names.join(', ') } } : reply
  }
  t.comment((await attackThenVisit(t, h, NEGOTIATION_POISONS, 'declared')).join('; '))
  for (const [name, value] of Object.entries(NEGOTIATION_POISONS)) {
    const path = `/says-vary/${name}`
    await rawRequest(h.url, path, { headers: { ...attacker, [name]: value } })
    const res = await rawRequest(h.url, path, { headers: victim })
    t.notOk(res.body.toString().includes(value), `${name}: an upstream that says Vary is keyed on it (${res.headers['x-cache']})`)
  }
})

t.test('a coding the victim did not accept is never served to it, whatever the attacker accepted', async (t) => {
  const h = await startHarness(t, { routes })
  h.origin.respond = carelessUpstream
  const attackerCodings = ['gzip', 'GZIP', 'gzip;q=1', 'x-gzip', 'gzip, deflate, br', '*', 'br', 'identity']
  const victimCodings: (string | undefined)[] = [undefined, 'identity', 'br', 'gzip;q=0', 'gzip']
  const report: string[] = []
  for (const upstreamVaries of [false, true]) {
    for (const [i, coding] of attackerCodings.entries()) {
      const path = `/reflect/${upstreamVaries ? 'with-vary' : 'without-vary'}-${i}`
      const attack = await rawRequest(h.url, path, { headers: { ...attacker, 'accept-encoding': coding } })
      for (const accepted of victimCodings) {
        const res = await rawRequest(h.url, path, { headers: { ...victim, ...(accepted === undefined ? {} : { 'accept-encoding': accepted }) } })
        const seen = readAsVictim(res, accepted)
        t.ok(seen.readable, `${upstreamVaries ? 'Vary' : 'no Vary'}, attacker "${coding}", victim "${accepted ?? '(none)'}": readable (${res.headers['x-cache']}, ${String(res.headers['content-encoding'] ?? 'identity')})`)
        if (seen.readable) t.equal((JSON.parse(seen.text) as { url: string }).url, path)
        if (!seen.readable) report.push(`attacker "${coding}" ${String(attack.headers['x-cache'])} -> victim "${accepted ?? '(none)'}" got ${String(res.headers['content-encoding'])} (${res.headers['x-cache']})`)
      }
    }
  }
  if (report.length > 0) t.comment(`unreadable for the victim (${report.length}):\n${report.join('\n')}`)
})

t.test('a response that sets a cookie or is private is never given to another client', async (t) => {
  const h = await startHarness(t, { routes })
  h.origin.respond = carelessUpstream
  for (const [name, header] of [['cookie', { 'x-want-cookie': 'attacker-session' }], ['private', { 'x-want-private': '1' }]] as const) {
    const path = `/reflect/${name}`
    const first = await rawRequest(h.url, path, { headers: { ...attacker, ...header } })
    t.equal(first.headers['x-cache'], 'MISS')
    t.match(first.headers['cache-status'], /UNCACHEABLE-(SET-COOKIE|PRIVATE)/)
    const res = await rawRequest(h.url, path, { headers: victim })
    t.equal(res.headers['set-cookie'], undefined, `${name}: the victim gets no cookie`)
    t.not(res.headers['cache-control'], 'private', `${name}: nor the private response`)
    t.equal(res.headers['x-cache'], 'MISS', `${name}: the attacker's response was not stored`)
  }
})
