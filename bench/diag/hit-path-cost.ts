import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, IncomingMessage, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import { Redis } from 'ioredis'
import { makeManualClock } from '../../src/clock.js'
import { makeLogger } from '../../src/logger.js'
import { startProxy } from '../../src/server.js'

/**
 * A diagnosis, not a scenario: the JavaScript the L1 fast path runs per HIT, with no socket and
 * no kernel in the measurement, against what the Node ceiling runs per request (a Map lookup,
 * writeHead and end). The proxy is the real one (startProxy, config/helpdesk.yaml's tickets
 * route, Redis with L1; keys under ccp-diag-hit:<pid>:, deleted at the end) in front of a local origin; the primed hit is then replayed
 * through the server's own 'request' listener with a request object carrying wrk's headers and a
 * response whose writeHead and end only count. Repeatable to a few ns on a quiet core, so it
 * shows what a change to the hit path's code is worth where the throughput runs cannot (their
 * noise is larger than the change).
 *
 *   node dist/bench-build/bench/diag/hit-path-cost.js          # a table, ns per request
 */
const ROUNDS = 5
const CALLS_PER_ROUND = 1_000_000
const SECRET = 'diag-secret-with-enough-entropy-0123456789'
const PATH = '/api/v2/helpdesk/tickets/?limit=20'

interface CountingResponse { writeHead(status: number, headers: readonly string[] | OutgoingHttpHeaders): CountingResponse; end(body?: Buffer): void; bytes: number }

function countingResponse(): CountingResponse {
  const res: CountingResponse = {
    bytes: 0,
    writeHead(_status, headers) { res.bytes += Array.isArray(headers) ? headers.length : 1; return res },
    end(body) { res.bytes += body?.length ?? 0 },
  }
  return res
}

const addHeaderLine = (IncomingMessage.prototype as unknown as { _addHeaderLine(name: string, value: string, into: IncomingHttpHeaders): void })._addHeaderLine

/** What the fast path reads of an IncomingMessage; headers is parsed from rawHeaders on first use (by Node's own _addHeaderLine), as Node's is. */
class FakeRequest {
  readonly method = 'GET'
  #parsed: IncomingHttpHeaders | undefined
  constructor(readonly url: string, readonly rawHeaders: string[], readonly socket: object) {}
  get headers(): IncomingHttpHeaders {
    if (this.#parsed === undefined) {
      const parsed: IncomingHttpHeaders = {}
      for (let i = 0; i < this.rawHeaders.length; i += 2) addHeaderLine.call(this, this.rawHeaders[i] as string, this.rawHeaders[i + 1] as string, parsed)
      this.#parsed = parsed
    }
    return this.#parsed
  }
}

async function startOrigin(body: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept' }).end(body))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

function configYaml(): string {
  return `upstream: "\${UPSTREAM_URL}"
listen: { host: 127.0.0.1, port: 0 }
store:
  redis: "\${REDIS_URL}"
  keyPrefix: "\${KEY_PREFIX}"
  l1: { enabled: true, maxEntries: 1000, maxSize: 64mb, maxAge: 1h }
identity:
  jwt:
    secret: \${JWT_SECRET}
    algorithms: [HS256]
    claims: { tenant: tenant, user: sub }
routes:
  - { name: tickets, path: /api/v2/helpdesk/tickets/, ttl: 5m, scope: user, vary: [Accept], tags: ["tickets:{tenant}:{user}", "tickets:{tenant}"] }
log: { level: silent }
`
}

function timeRounds(label: string, call: () => void): { label: string; nsPerCall: number[] } {
  for (let i = 0; i < CALLS_PER_ROUND; i++) call() // warm-up: the JIT's tiers
  const nsPerCall: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < CALLS_PER_ROUND; i++) call()
    nsPerCall.push(Number(process.hrtime.bigint() - start) / CALLS_PER_ROUND)
  }
  return { label, nsPerCall }
}

async function main(): Promise<void> {
  const body = Buffer.from(JSON.stringify({ results: Array.from({ length: 20 }, (_, i) => ({ id: i, subject: 'x'.repeat(800) })) }))
  const origin = await startOrigin(body)
  const dir = mkdtempSync(join(tmpdir(), 'ccp-diag-'))
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, configYaml())
  // A clock that stands still: the primed copy never ages out of L1 (maxAge) while the rounds run.
  const clock = makeManualClock(Date.now())
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
  const keyPrefix = `ccp-diag-hit:${process.pid}:`
  const proxy = await startProxy({ configFile, env: { UPSTREAM_URL: origin.url, JWT_SECRET: SECRET, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix }, watch: false, clock, log: makeLogger('silent') })
  try {
    await waitForStore(proxy.store)
    const token = createSigner({ key: SECRET, algorithm: 'HS256' })({ tenant: 1, sub: 7, exp: Math.floor(Date.now() / 1000) + 3600 })
    // wrk's headers, and the Accept that fetch adds (the route varies on it): the same key as the priming requests.
    const headers: IncomingHttpHeaders = { host: new URL(proxy.url).host, authorization: `Bearer ${token}`, 'x-tenant-id': '1', accept: '*/*' }
    for (const expected of ['MISS', 'HIT', 'HIT']) {
      const response = await fetch(proxy.url + PATH, { headers: { authorization: headers.authorization as string, 'accept-encoding': 'identity' } })
      await response.arrayBuffer()
      const xcache = response.headers.get('x-cache')
      if (xcache !== expected) throw new Error(`priming: expected ${expected}, got ${xcache}`)
    }
    const listener = proxy.app.server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void
    const rawHeaders = ['Host', headers.host, 'Authorization', headers.authorization, 'X-Tenant-Id', '1', 'Accept', '*/*'] as string[]
    // One connection sending the same request again, as wrk does: a new request object each
    // time, with its own header strings (two copies, used in turn, so that comparing them
    // compares text, as with Node's parser), whose headers object is built on first use, as Node's is.
    const connection = {}
    const blocks = [0, 1].map(() => rawHeaders.map((text) => Buffer.from(text).toString()))
    let calls = 0
    const newRequest = (): IncomingMessage => new FakeRequest(PATH, blocks[calls++ & 1] as string[], connection) as unknown as IncomingMessage
    const res = countingResponse()
    const served = (proxy.app as unknown as { l1FastPath: { served(): number } }).l1FastPath
    const before = served.served()
    const proxyRun = timeRounds('proxy fast path (serveFromL1, writeHitFromL1, metrics)', () => listener(newRequest(), res as unknown as ServerResponse))
    if (served.served() - before !== CALLS_PER_ROUND * (ROUNDS + 1)) throw new Error('the fast path did not answer every call')
    const ceilingHeaders: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': String(body.length) }
    const responses = new Map([[PATH, { status: 200, headers: ceilingHeaders, body }]])
    const ceilingRun = timeRounds('Node ceiling handler (Map.get, writeHead, end)', () => {
      const entry = responses.get(newRequest().url as string)
      if (entry !== undefined) res.writeHead(entry.status, entry.headers).end(entry.body)
    })
    printTable([proxyRun, ceilingRun])
  } finally {
    await proxy.close()
    await origin.close()
    await deleteKeys(redisUrl, keyPrefix)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The store's client does not queue commands while it connects (every one fails fast): ping until one answers. */
async function waitForStore(store: { ping(): Promise<unknown> }): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try { return void await store.ping() } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl)
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length > 0) await redis.unlink(...keys)
  await redis.quit()
}

function printTable(runs: { label: string; nsPerCall: number[] }[]): void {
  console.log(`| handler | ns per request, median of ${ROUNDS} rounds of ${CALLS_PER_ROUND.toLocaleString('en')} | rounds |`)
  console.log('| --- | --- | --- |')
  for (const run of runs) {
    const sorted = [...run.nsPerCall].sort((a, b) => a - b)
    console.log(`| ${run.label} | ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(0)} | ${run.nsPerCall.map((ns) => ns.toFixed(0)).join(', ')} |`)
  }
}

await main()
