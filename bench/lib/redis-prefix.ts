import type { Redis } from 'ioredis'
import { escapeGlob } from '../../src/store/glob.js'
import { connectRedisUrl } from '../../src/store/redis-support.js'

/**
 * Redis housekeeping of a run: every key it or its proxies write starts with the run's own
 * prefix, and cleanup deletes by that prefix (SCAN + UNLINK), never FLUSHALL.
 */
/** The bench's own connection to the run's Redis: a redis:// URL or, as the proxy takes it, unix:///path. */
export function connectRedis(url: string): Redis {
  return connectRedisUrl(url, { maxRetriesPerRequest: 1, lazyConnect: false })
}

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  const match = `${escapeGlob(prefix)}*`
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 5000)
    cursor = next
    if (keys.length > 0) deleted += await redis.unlink(...keys)
  } while (cursor !== '0')
  return deleted
}

export function countByPrefix(redis: Redis, prefix: string): Promise<number> {
  return countMatching(redis, `${escapeGlob(prefix)}*`)
}

/** Keys matching a glob on one node (SCAN: never KEYS on a shared Redis). */
export async function countMatching(redis: Redis, match: string): Promise<number> {
  let cursor = '0'
  let count = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 5000)
    cursor = next
    count += keys.length
  } while (cursor !== '0')
  return count
}

/** INFO memory's used_memory, in bytes. */
export async function readUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  const match = /^used_memory:(\d+)/m.exec(info)
  if (match?.[1] === undefined) throw new Error('INFO memory has no used_memory')
  return Number(match[1])
}

export async function readRedisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server')
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown'
}

/**
 * Turns on keyspace notifications for generic commands (K = keyspace channel, g = DEL and
 * friends), keeping whatever flags were set, and returns the undo that restores the setting.
 * https://redis.io/docs/latest/develop/use/keyspace-notifications/
 */
export async function enableDelNotifications(redis: Redis): Promise<() => Promise<void>> {
  const reply = await redis.config('GET', 'notify-keyspace-events') as string[]
  const previous = reply[1] ?? ''
  const flags = new Set([...previous, 'K', 'g'])
  await redis.config('SET', 'notify-keyspace-events', [...flags].join(''))
  return async () => { await redis.config('SET', 'notify-keyspace-events', previous) }
}
