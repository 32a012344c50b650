import type { Redis } from 'ioredis'
import type { Logger } from 'pino'

/**
 * Redis pub/sub for "the fetch of this key ended". Pub/sub is at-most-once: a lost message
 * only makes a waiter wait out its bounded timeout and fetch itself, never serve wrong data.
 * The subscriber connection is opened on first use (a SUBSCRIBE connection can do nothing else).
 */
export function makeFillChannel(client: Redis, channel: string, log: Logger) {
  const listeners = new Set<(key: string) => void>()
  let subscriber: Redis | undefined

  function ensureSubscriber(): void {
    if (subscriber) return
    subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
    subscriber.on('error', (err: Error) => log.debug({ err }, 'fill channel subscriber error'))
    subscriber.on('message', (_channel: string, key: string) => { for (const listener of listeners) listener(key) })
    subscriber.subscribe(channel).catch((err: unknown) => log.warn({ err }, 'could not subscribe to the fill channel'))
  }

  return {
    announce: async (key: string) => { await client.publish(channel, key) },
    subscribe(listener: (key: string) => void): () => void {
      ensureSubscriber()
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close(): void {
      listeners.clear()
      subscriber?.disconnect()
    },
  }
}
