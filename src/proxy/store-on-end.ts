import { Transform, type TransformCallback } from 'node:stream'

/**
 * Passes the upstream body through to the client unchanged while keeping a copy, up to a
 * limit. `onComplete` runs only when the body ended normally and fit the limit: a reset,
 * an aborted client or an oversize body never stores anything partial. The client's
 * response ends at once; the write goes on behind it (the key's flight stays open until it
 * settles, so a request for the same key meanwhile waits for it and is answered `collapsed`).
 * `onWillStore` runs just before the end is released, when a store is sure to follow.
 */
export function makeStoreOnEnd(maxBytes: number, onComplete: (body: Buffer) => Promise<void>, onTooLarge: () => void, onWillStore: () => void = () => {}): Transform {
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
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
      onWillStore()
      callback()
      // After the client's end is on its way: the encoding and the write cost it nothing.
      setImmediate(() => { onComplete(body).catch(() => undefined) })
    },
  })
}
