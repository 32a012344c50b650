import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { pipeline } from 'node:stream'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

/**
 * The proxy floor: the least a Node reverse proxy can do per request. A plain node:http
 * server that forwards each request to the upstream over an undici pool (the client
 * @fastify/reply-from uses) and streams the answer back: no framework, no routing, no
 * header rewriting beyond dropping the hop-by-hop ones, no cache. What a MISS or a
 * pass-through adds over the upstream is reported beside what this adds, as the HIT is
 * reported beside the Node ceiling.
 *
 *   node proxy-floor-server.js --port P --upstream URL
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host'])

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name]
  return out
}

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, upstream: { type: 'string' } } })
  if (values.port === undefined || values.upstream === undefined) throw new Error('usage: --port P --upstream URL')
  const pool = new Pool(values.upstream, { connections: 128, pipelining: 1 })
  const server = createServer((req, res) => {
    pool.request({ method: req.method as 'GET', path: req.url ?? '/', headers: forwardable(req.headers) as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
      .then((answer) => {
        res.writeHead(answer.statusCode, forwardable(answer.headers))
        pipeline(answer.body, res, () => {})
      }, () => { if (!res.headersSent) res.writeHead(502).end() })
  })
  server.keepAliveTimeout = 65_000
  server.listen(Number(values.port), '127.0.0.1')
  process.once('SIGTERM', () => server.close(() => void pool.close().then(() => process.exit(0))))
}

main()
