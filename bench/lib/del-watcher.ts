import { redisTarget } from '../../src/store/redis-support.js'
import { connectRedis } from './redis-prefix.js'
import { wallMs } from './wait.js'

/**
 * Observes, from outside the proxy, the moment Redis deletes a stamp key: a keyspace
 * notification (`__keyspace@<db>__:<key>` with message `del`) is published by Redis as it
 * executes the DEL. The proxy is not asked, and nothing is polled.
 */
export interface DelWatcher {
  /** Resolves with the wall-clock ms at which the next DEL of `key` was seen. Register before causing it. */
  expect(key: string): Promise<number>
  forget(key: string): void
  close(): Promise<void>
}

export async function watchDeletes(redisUrl: string, keyPattern: string): Promise<DelWatcher> {
  const target = redisTarget(redisUrl)
  const db = 'url' in target ? Number(new URL(target.url).pathname.slice(1) || '0') : target.db
  const channelPrefix = `__keyspace@${db}__:`
  const subscriber = connectRedis(redisUrl)
  const waiting = new Map<string, (at: number) => void>()
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
    if (message !== 'del') return
    const at = wallMs()
    const key = channel.slice(channelPrefix.length)
    const resolve = waiting.get(key)
    if (resolve === undefined) return
    waiting.delete(key)
    resolve(at)
  })
  await subscriber.psubscribe(`${channelPrefix}${keyPattern}`)
  return {
    expect: (key) => new Promise<number>((resolve) => waiting.set(key, resolve)),
    forget: (key) => void waiting.delete(key),
    close: async () => { subscriber.disconnect() },
  }
}
