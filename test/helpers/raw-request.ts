import { request } from 'node:http'

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** Sends the request target exactly as given (fetch() would normalise `%2e%2e`, `//` and the like). */
export function rawRequest(baseUrl: string, target: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const base = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method: options.method ?? 'GET', path: target, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
