import { connect, type Socket } from 'node:net'

export interface RawExchange { readonly head: string; readonly body: Buffer }

/** One keep-alive connection: requests written exactly as given (Host added unless given), one at a time, each answer read off the same socket. */
export interface RawConnection {
  send(target: string, headers: Record<string, string>, method?: string): Promise<RawExchange>
  close(): void
}

export async function openConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s))
    s.once('error', reject)
  })
  let buffered = Buffer.alloc(0)
  let waiting: { method: string; resolve(r: RawExchange): void; reject(err: Error): void } | undefined
  const take = () => {
    if (waiting === undefined) return
    const at = buffered.indexOf('\r\n\r\n')
    if (at === -1) return
    const head = buffered.subarray(0, at).toString('latin1')
    const bodyless = waiting.method === 'HEAD' || / 304 /.test(head.split('\r\n')[0] ?? '')
    const framed = bodyless ? { body: Buffer.alloc(0), end: at + 4 } : /\r\ntransfer-encoding: chunked/i.test(head) ? dechunk(buffered, at + 4) : byLength(buffered, head, at + 4)
    if (framed instanceof Error) return waiting.reject(framed)
    if (framed === undefined) return
    const body = framed.body
    buffered = buffered.subarray(framed.end)
    const done = waiting
    waiting = undefined
    done.resolve({ head, body })
  }
  socket.on('data', (chunk: Buffer) => { buffered = Buffer.concat([buffered, chunk]); take() })
  socket.on('close', () => waiting?.reject(new Error('the connection closed before the answer')))
  socket.on('error', (err) => waiting?.reject(err))
  return {
    send(target, headers, method = 'GET') {
      if (waiting !== undefined) return Promise.reject(new Error('one request at a time'))
      const host = Object.keys(headers).some((name) => name.toLowerCase() === 'host') ? [] : [`Host: ${hostname}:${port}`]
      const lines = [`${method} ${target} HTTP/1.1`, ...host, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), '', '']
      return new Promise((resolve, reject) => {
        waiting = { method, resolve, reject }
        socket.write(lines.join('\r\n'))
      })
    },
    close: () => socket.destroy(),
  }
}

type Framed = { body: Buffer; end: number } | undefined | Error

function byLength(buffered: Buffer, head: string, start: number): Framed {
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN)
  if (Number.isNaN(length)) return new Error(`neither Content-Length nor chunked: ${head}`)
  return buffered.length < start + length ? undefined : { body: buffered.subarray(start, start + length), end: start + length }
}

/** RFC 9112 section 7.1, without chunk extensions or trailers (what Node sends). */
function dechunk(buffered: Buffer, start: number): Framed {
  const chunks: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buffered.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = parseInt(buffered.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) return new Error('a malformed chunk size')
    if (buffered.length < lineEnd + 2 + size + 2) return undefined
    if (size === 0) return { body: Buffer.concat(chunks), end: lineEnd + 4 }
    chunks.push(buffered.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

export function headerOf(head: string, name: string): string | undefined {
  return new RegExp(`\\r\\n${name}: ([^\\r]*)`, 'i').exec(head)?.[1]
}
