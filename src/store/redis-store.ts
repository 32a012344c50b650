import type { Redis, RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { CacheStore, InvalidationEvent, StoreRead, StoreWrite } from './store.js'
import { ACQUIRE_STAMPS, ADVANCE_WATERMARK, END_FILL, READ_OR_ACQUIRE, WRITE_IF_UNCHANGED } from './redis-scripts.js'
import { makeRedisChannels } from './redis-channels.js'
import { makeInvalidationFeed } from './invalidation-feed.js'
import { EVERYTHING_TAG } from '../tags/tag-template.js'
import { makeStamp } from './stamp.js'
import { escapeGlob } from './glob.js'
import { logErrorsThrottled, makeGuard, parseReadOrAcquire, readOrAcquireArgs, readRunId, connectRedisUrl, watermarkOfRun, writeIfUnchangedArgs } from './redis-support.js'

export interface RedisStoreOptions {
  readonly url: string
  readonly keyPrefix: string
  /** Every command fails after this long: the cache must never become the outage. */
  readonly timeoutMs: number
  /** How long a stamp lives after its last use; longer than any entry's lifetime. */
  readonly stampTtlMs: number
  readonly log: Logger
}

interface ScriptedRedis extends Redis {
  readOrAcquireBuffer(...args: (string | number)[]): Promise<(Buffer | null)[]>
  acquireStamps(...args: (string | number)[]): Promise<string[]>
  writeIfUnchanged(...args: (string | number | Buffer)[]): Promise<number>
  advanceWatermark(watermarkKey: string, everythingKey: string, ms: number, runId: string): Promise<number>
  endFill(key: string, token: string, channel: string, message: string): Promise<number>
}

/** Fail fast: no offline queue, no retries per command, a short command timeout. */
function makeClient(options: RedisStoreOptions): ScriptedRedis {
  const redisOptions: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick share one write: fewer syscalls per request under load.
    enableAutoPipelining: true,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(1000, options.timeoutMs * 10),
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    lazyConnect: false,
  }
  const client = connectRedisUrl(options.url, redisOptions)
  client.defineCommand('readOrAcquire', { lua: READ_OR_ACQUIRE })
  client.defineCommand('acquireStamps', { lua: ACQUIRE_STAMPS })
  client.defineCommand('writeIfUnchanged', { lua: WRITE_IF_UNCHANGED })
  client.defineCommand('advanceWatermark', { numberOfKeys: 2, lua: ADVANCE_WATERMARK })
  client.defineCommand('endFill', { numberOfKeys: 1, lua: END_FILL })
  return client as ScriptedRedis
}

export function makeRedisStore(options: RedisStoreOptions): CacheStore {
  const client = makeClient(options)
  const { keyPrefix, stampTtlMs } = options
  const entryKey = (key: string) => `${keyPrefix}e:${key}`
  const stampKey = (tag: string) => `${keyPrefix}s:${tag}`
  const watermarkKey = `${keyPrefix}watermark`
  const lockKey = (key: string) => `${keyPrefix}l:${key}`
  /** This process's lock token: a lock is released only by the process that took it. */
  const lockToken = makeStamp()
  const channels = makeRedisChannels({
    publish: (channel, message) => client.publish(channel, message),
    openSubscriber: () => client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, enableAutoPipelining: false }),
  }, options.log)
  const fillChannel = `${keyPrefix}fill`
  /** Published after the change is confirmed, on the same connection, so subscribers see them in order. */
  const feed = makeInvalidationFeed(channels, `${keyPrefix}invalidation`)
  const publishInvalidation = (event: InvalidationEvent) => feed.publish(event)
  /** The run_id of the Redis process this connection talks to; unknown until read after each (re)connect. */
  let runId: string | undefined
  async function currentRunId(): Promise<string> {
    runId = await readRunId(client)
    return runId
  }
  client.on('ready', () => {
    runId = undefined
    currentRunId().catch(() => { runId = undefined })
  })
  client.on('close', () => { runId = undefined })

  /** A watermark counts only if it was written to this very Redis run (see ADVANCE_WATERMARK). */
  const parseWatermark = (value: string | undefined | null): number | null => watermarkOfRun(value, runId)

  async function acquire(tags: readonly string[], lock?: { key: string; ttlMs: number }) {
    const keys = [...tags.map(stampKey), ...(lock ? [lockKey(lock.key)] : [])]
    const lockArgs = lock ? [lockToken, Math.max(1, Math.ceil(lock.ttlMs))] : []
    const out = await client.acquireStamps(keys.length, ...keys, stampTtlMs, tags.length, ...tags.map(() => makeStamp()), ...lockArgs)
    return { stamps: out.slice(0, tags.length), locked: out[tags.length] === '1' }
  }

  logErrorsThrottled(client, options.log, 'redis connection error')
  const guarded = makeGuard('redis')

  return {
    kind: 'redis',

    read: (key, tags, acquire) => guarded('read', async (): Promise<StoreRead> => {
      if (acquire !== undefined) {
        const keys = { entry: entryKey(key), stamps: tags.map(stampKey), watermark: watermarkKey, lock: lockKey(key) }
        const read = parseReadOrAcquire(await client.readOrAcquireBuffer(...readOrAcquireArgs(keys, acquire, stampTtlMs, lockToken)), tags.length)
        return { ...read, watermark: parseWatermark(read.watermark) }
      }
      const values = await client.mgetBuffer(entryKey(key), watermarkKey, ...tags.map(stampKey))
      const watermark = values[1]
      return {
        entry: values[0] ?? null,
        watermark: parseWatermark(watermark?.toString()),
        stamps: values.slice(2).map((v) => (v ? v.toString() : null)),
      }
    }),

    acquireStamps: (tags) => guarded('acquireStamps', async () => (await acquire(tags)).stamps),

    acquireStampsAndLock: (tags, lock) => guarded('acquireStamps', () => acquire(tags, lock)),

    writeIfUnchanged: (write: StoreWrite) => guarded('write', async () => {
      const keys = { entry: entryKey(write.key), stamps: write.tags.map(stampKey), fillLock: write.endsFillOf === undefined ? undefined : lockKey(write.endsFillOf) }
      return (await client.writeIfUnchanged(...writeIfUnchangedArgs(write, keys, lockToken, fillChannel))) === 1
    }),

    invalidateTags: (tags) => guarded('invalidateTags', async () => {
      if (tags.length === 0) return 0
      const deleted = await client.del(...tags.map(stampKey))
      await publishInvalidation({ kind: 'tags', tags })
      return deleted
    }),

    invalidateTagPattern: (glob) => guarded('invalidateTagPattern', async () => {
      const deleted = await deleteByPattern(client, `${escapeGlob(keyPrefix)}s:${glob}`)
      await publishInvalidation({ kind: 'reset' })
      return deleted
    }),

    writeWatermark: (ms) => guarded('writeWatermark', async () => {
      const flushed = await client.advanceWatermark(watermarkKey, stampKey(EVERYTHING_TAG), ms, runId ?? await currentRunId())
      if (flushed === 1) {
        options.log.warn({ runId }, 'Redis came back from older data (new run_id): everything cached before was flushed')
        await publishInvalidation({ kind: 'reset' })
      }
      await publishInvalidation({ kind: 'watermark', ms })
    }),

    readWatermark: () => guarded('readWatermark', async () => {
      const value = await client.get(watermarkKey)
      if (runId === undefined) await currentRunId()
      return parseWatermark(value)
    }),

    tryLock: (key, ttlMs) => guarded('tryLock', async () =>
      (await client.set(lockKey(key), lockToken, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'),

    endFill: (key) => guarded('endFill', async () => { await client.endFill(lockKey(key), lockToken, fillChannel, key) }),

    onFill: (listener) => channels.subscribe(fillChannel, listener),

    onInvalidation: (listener) => feed.subscribe(listener),

    deleteEntry: (key) => guarded('deleteEntry', async () => { await client.del(entryKey(key)) }),

    describe: async () => ({ kind: 'redis' }),

    ping: () => guarded('ping', async () => { await client.ping() }),

    close: async () => {
      channels.close()
      client.disconnect()
    },
  }
}

/** Operator path only: SCAN is O(keyspace), never used for request-driven invalidation. */
async function deleteByPattern(client: Redis, match: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) deleted += await client.unlink(...keys)
  } while (cursor !== '0')
  return deleted
}
