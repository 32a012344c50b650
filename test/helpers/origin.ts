import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OriginReply {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string | Buffer
}

export interface Origin {
  readonly url: string
  /** Requests received, by method and raw URL (`GET /a?b=1`). */
  readonly hits: Map<string, number>
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[]
  /** Replace to change how the origin answers; the default echoes URL and identity. */
  respond: (req: IncomingMessage, body: Buffer, res: ServerResponse) => OriginReply | undefined | Promise<OriginReply | undefined>
  count(method: string, url: string): number
  close(): Promise<void>
}

/** The payload of a JWT without verification: the origin only echoes who asked. */
function claimsOf(req: IncomingMessage): unknown {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
  const payload = token?.split('.')[1]
  if (!payload) return null
  try { return JSON.parse(Buffer.from(payload, 'base64url').toString()) } catch { return 'unparseable' }
}

export function echoReply(req: IncomingMessage, serial: number): OriginReply {
  const claims = claimsOf(req) as { tenant?: unknown; sub?: unknown } | null
  return {
    headers: { 'content-type': 'application/json', 'x-origin': 'yes' },
    body: JSON.stringify({ url: req.url, tenant: claims?.tenant ?? null, user: claims?.sub ?? null, tenantHeader: req.headers['x-tenant-id'] ?? null, serial }),
  }
}

/** A real upstream on a socket that counts its hits and echoes the URL and identity in its body. */
export async function startOrigin(): Promise<Origin> {
  let serial = 0
  const hits = new Map<string, number>()
  const requests: Origin['requests'] = []
  const origin: Origin = {
    url: '',
    hits,
    requests,
    respond: (req) => echoReply(req, serial),
    count: (method, url) => hits.get(`${method} ${url}`) ?? 0,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    serial++
    const key = `${req.method} ${req.url}`
    hits.set(key, (hits.get(key) ?? 0) + 1)
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
    const reply = await origin.respond(req, body, res)
    if (!reply) return // the handler wrote the response itself
    res.writeHead(reply.status ?? 200, reply.headers ?? {})
    res.end(reply.body ?? '')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  return Object.assign(origin, { url: `http://127.0.0.1:${port}` })
}
