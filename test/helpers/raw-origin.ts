import net from 'node:net'

/**
 * An upstream that writes raw bytes, for responses no HTTP server library would produce:
 * invalid or conflicting framing, bodies cut off, bytes dripped or never sent. `answer` gets
 * the request line's target and the socket, and writes what it likes; keep-alive requests on
 * one connection are handled one after another.
 */
export interface RawOrigin {
  readonly url: string
  readonly targets: string[]
  answer: (target: string, socket: net.Socket) => void
  close(): Promise<void>
}

export async function startRawOrigin(): Promise<RawOrigin> {
  const sockets = new Set<net.Socket>()
  const origin: RawOrigin = {
    url: '',
    targets: [],
    answer: (target, socket) => socket.write(okResponse(target)),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4) // GET requests: no body
        const target = head.split('\r\n')[0]?.split(' ')[1] ?? ''
        origin.targets.push(target)
        origin.answer(target, socket)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return Object.assign(origin, { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` })
}

export function okResponse(target: string): string {
  const body = JSON.stringify({ url: target, good: true })
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/** A client request that reports what arrived, even when the response is cut off. */
export interface Received { status: number; headers: Record<string, string | string[] | undefined>; body: string; complete: boolean; error?: string }

/** `timeoutMs`: a deadline, after which the request is abandoned and reported as never completed. */
export async function receive(url: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<Received> {
  const { request } = await import('node:http')
  return new Promise((resolve) => {
    const req = request(url, { headers }, (res) => {
      const deadline = setTimeout(() => { done(false, `no end of the response after ${timeoutMs} ms`); req.destroy() }, timeoutMs)
      const chunks: Buffer[] = []
      let settled = false
      const done = (complete: boolean, error?: string) => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), complete, ...(error ? { error } : {}) })
      }
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done(res.complete))
      res.on('aborted', () => done(false, 'aborted'))
      res.on('error', (err) => done(false, err.message))
      res.on('close', () => done(res.complete))
    })
    req.setTimeout(timeoutMs + 500, () => req.destroy(new Error(`no response after ${timeoutMs} ms`)))
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: '', complete: false, error: err.message }))
    req.end()
  })
}

/**
 * The first request for each target gets `broken`; every later one a well-formed answer, so
 * a test can tell what the proxy kept of the broken one (nothing) from a fresh fetch.
 */
export function breakFirstAnswer(origin: RawOrigin, broken: (target: string, socket: net.Socket) => void): void {
  const seen = new Set<string>()
  origin.answer = (target, socket) => {
    if (seen.has(target)) return void socket.write(okResponse(target))
    seen.add(target)
    broken(target, socket)
  }
}
