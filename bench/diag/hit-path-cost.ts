import { IncomingMessage, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { PATH, startDiagProxy } from './diag-proxy.js'

/**
 * A diagnosis, not a scenario: the JavaScript the L1 fast path runs per HIT, with no socket and
 * no kernel in the measurement, against what the Node ceiling runs per request (a Map lookup,
 * writeHead and end). The proxy is the real one, primed (diag-proxy.ts); the hit is then replayed
 * through the server's own 'request' listener with a request object carrying wrk's headers and a
 * response whose writeHead and end only count. Repeatable to a few ns on a quiet core, so it
 * shows what a change to the hit path's code is worth where the throughput runs cannot (their
 * noise is larger than the change).
 *
 *   node dist/bench-build/bench/diag/hit-path-cost.js          # a table, ns per request
 */
const ROUNDS = 5
const CALLS_PER_ROUND = 1_000_000

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
  const diag = await startDiagProxy({ keyPrefix: `ccp-diag-hit:${process.pid}:` })
  const { proxy, headers, body } = diag
  try {
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
    await diag.close()
  }
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
