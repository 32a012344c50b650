import { Transform, type TransformCallback } from 'node:stream'

/**
 * Passes the upstream body through to the client unchanged while keeping a copy, up to a
 * limit. `onComplete` runs only when the body ended normally and fit the limit: a reset,
 * an aborted client or an oversize body never stores anything partial. The end of the body
 * is released after the write settles (bounded by the store timeout), so a client that
 * got a MISS and asks again gets the HIT.
 */
export function makeStoreOnEnd(maxBytes: number, onComplete: (body: Buffer) => Promise<void>, onTooLarge: () => void): Transform {
  let chunks: Buffer[] | undefined = []
  let size = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (chunks) {
        size += chunk.length
        if (size > maxBytes) {
          chunks = undefined
          onTooLarge()
        } else chunks.push(chunk)
      }
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      if (!chunks) return callback()
      onComplete(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)).then(() => callback(), () => callback())
    },
  })
}
