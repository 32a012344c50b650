import { Pool } from 'undici'

/**
 * A closed-loop HTTP load generator in this process (undici, keep-alive), for the scenarios
 * that must look at every response: `concurrency` requests in flight until `count` are done.
 */
export interface LoadResponse { readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: Buffer }

export async function sendMany(options: {
  readonly baseUrl: string
  readonly count: number
  readonly concurrency: number
  readonly makeRequest: (i: number) => { path: string; headers: Record<string, string> }
  readonly onResponse?: (i: number, response: LoadResponse) => void
}): Promise<{ errors: number; elapsedMs: number }> {
  const pool = new Pool(options.baseUrl, { connections: options.concurrency, pipelining: 1 })
  let next = 0
  let errors = 0
  const t0 = performance.now()
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const i = next++
      const { path, headers } = options.makeRequest(i)
      try {
        const response = await pool.request({ method: 'GET', path, headers })
        const body = Buffer.from(await response.body.arrayBuffer())
        options.onResponse?.(i, { status: response.statusCode, headers: response.headers, body })
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  await pool.close()
  return { errors, elapsedMs: performance.now() - t0 }
}
