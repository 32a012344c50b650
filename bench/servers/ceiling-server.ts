import { readFileSync } from 'node:fs'
import { createServer, type OutgoingHttpHeaders } from 'node:http'
import { parseArgs } from 'node:util'

/**
 * The Node ceiling: a plain node:http server answering captured bytes from a Map, with
 * headers and body prepared once. Nothing a caching proxy could do in Node is cheaper than
 * this, so the proxy's HIT throughput is reported as a ratio to it.
 *
 *   node ceiling-server.js --port P --response FILE [--any-query]
 *
 * FILE holds one captured response {url, status, headers: [[name, value]], bodyBase64}. With
 * --any-query every URL of the same path gets it (the static origin of the memory scenario).
 */
export interface CapturedResponse {
  readonly url: string
  readonly status: number
  readonly headers: readonly (readonly [string, string])[]
  readonly bodyBase64: string
}

interface Prepared { readonly status: number; readonly headers: OutgoingHttpHeaders; readonly body: Buffer }

function prepare(captured: CapturedResponse): Prepared {
  const body = Buffer.from(captured.bodyBase64, 'base64')
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of captured.headers) headers[name] = value
  headers['content-length'] = String(body.length)
  return { status: captured.status, headers, body }
}

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, response: { type: 'string' }, 'any-query': { type: 'boolean' } } })
  if (values.port === undefined || values.response === undefined) throw new Error('usage: --port P --response FILE [--any-query]')
  const captured = JSON.parse(readFileSync(values.response, 'utf8')) as CapturedResponse
  const anyQuery = values['any-query'] === true
  const responses = new Map<string, Prepared>([[anyQuery ? pathOf(captured.url) : captured.url, prepare(captured)]])
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    const entry = responses.get(anyQuery ? pathOf(url) : url)
    if (entry === undefined) return void res.writeHead(404).end()
    res.writeHead(entry.status, entry.headers)
    res.end(entry.body)
  })
  server.keepAliveTimeout = 65_000
  server.listen(Number(values.port), '127.0.0.1')
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
}

function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

main()
