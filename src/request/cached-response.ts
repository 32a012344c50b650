/**
 * The bytes of one stored response: a small JSON head and the body as-is (no JSON round trip
 * of bodies). Layout: "CCP2" | uint32 head length | head JSON | body.
 */
export interface CachedResponse {
  readonly status: number
  /** End-to-end response headers in upstream order, lower-case names. */
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Buffer
  readonly storedAt: number
  readonly expiresAt: number
  /** The tag stamps captured before the upstream fetch, joined by spaces. */
  readonly stamps: string
  /** A strong validator for the identity body: the upstream's strong ETag, or a hash of the body. */
  readonly etag: string
  /** How `body` is stored: as the upstream sent it, or gzip-compressed by the proxy. */
  readonly storedEncoding: 'identity' | 'gzip'
}

const MAGIC = Buffer.from('CCP2')
const PREFIX = MAGIC.length + 4

interface Head { s: number; h: [string, string][]; t: number; x: number; st: string; e: string; c?: 'gzip' }

export function encodeCachedResponse(response: CachedResponse): Buffer {
  const head: Head = { s: response.status, h: response.headers.map(([n, v]) => [n, v]), t: response.storedAt, x: response.expiresAt, st: response.stamps, e: response.etag }
  if (response.storedEncoding === 'gzip') head.c = 'gzip'
  const headBytes = Buffer.from(JSON.stringify(head))
  const out = Buffer.allocUnsafe(PREFIX + headBytes.length + response.body.length)
  MAGIC.copy(out, 0)
  out.writeUInt32BE(headBytes.length, MAGIC.length)
  headBytes.copy(out, PREFIX)
  response.body.copy(out, PREFIX + headBytes.length)
  return out
}

/** Returns undefined for anything that is not a complete entry written by this version. */
export function decodeCachedResponse(bytes: Buffer): CachedResponse | undefined {
  if (bytes.length < PREFIX || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
  const headLength = bytes.readUInt32BE(MAGIC.length)
  if (PREFIX + headLength > bytes.length) return undefined
  try {
    const head = JSON.parse(bytes.subarray(PREFIX, PREFIX + headLength).toString('utf8')) as Head
    if (typeof head.s !== 'number' || !Array.isArray(head.h) || typeof head.st !== 'string' || typeof head.e !== 'string') return undefined
    return {
      status: head.s, headers: head.h, body: bytes.subarray(PREFIX + headLength), storedAt: head.t, expiresAt: head.x,
      stamps: head.st, etag: head.e, storedEncoding: head.c === 'gzip' ? 'gzip' : 'identity',
    }
  } catch {
    return undefined
  }
}
