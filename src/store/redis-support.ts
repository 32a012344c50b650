import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { REDIS_SOCKET_URL } from '../config/redis-url.js'
import { ProxyError } from '../errors.js'
import type { AcquireOnMiss, AcquiredStamps, StoreWrite } from './store.js'
import { makeStamp } from './stamp.js'

/** What both Redis stores (one Redis, a Redis Cluster) do the same way. */

/** An ioredis client for a store URL: redis:// or rediss:// as it is, `unix:///path/to.sock[?db=N]` as a socket path and database. */
export function connectRedisUrl(url: string, options: RedisOptions): Redis {
  const target = redisTarget(url)
  return 'url' in target ? new Redis(target.url, options) : new Redis({ ...options, path: target.path, db: target.db })
}

export function redisTarget(url: string): { readonly url: string } | { readonly path: string; readonly db: number } {
  const socket = REDIS_SOCKET_URL.exec(url)
  return socket ? { path: socket[1] as string, db: Number(socket[2] ?? 0) } : { url }
}

/** Runs one store operation; any failure becomes CCP_STORE_UNAVAILABLE, which the proxy answers with BYPASS. */
export function makeGuard(label: string) {
  return async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (cause) {
      throw new ProxyError('CCP_STORE_UNAVAILABLE', `${label} ${what} failed: ${(cause as Error).message}`, { cause })
    }
  }
}

/** ioredis emits an error per failed reconnect; one line a second is enough for on-call. */
export function logErrorsThrottled(client: { on(event: 'error', listener: (err: Error) => void): unknown }, log: Logger, message: string): void {
  let last = 0
  client.on('error', (err: Error) => {
    const now = Date.now()
    if (now - last > 1000) {
      last = now
      log.warn({ err, code: 'CCP_STORE_UNAVAILABLE' }, message)
    }
  })
}

/** The run_id of the Redis process a connection talks to. */
export async function readRunId(client: { info(section: 'server'): Promise<string> }): Promise<string> {
  const found = /run_id:(\w+)/.exec(await client.info('server'))?.[1]
  if (!found) throw new Error('INFO server has no run_id')
  return found
}

/**
 * A stored watermark is `ms:run_id`; it counts only if written to this very run of the Redis
 * process (a process that came back from older data has another run_id).
 */
export function watermarkOfRun(value: string | null | undefined, runId: string | undefined): number | null {
  const match = value ? /^(\d+):(.+)$/.exec(value) : null
  return match && runId !== undefined && match[2] === runId ? Number(match[1]) : null
}

export interface ReadOrAcquireKeys {
  readonly entry: string
  readonly stamps: readonly string[]
  /** One Redis: the watermark is read in the same call. A cluster polls it per master instead. */
  readonly watermark?: string
  /** The key's coalescing lock, taken only when `acquire.lock` asks for it. */
  readonly lock: string
}

/** KEYS and ARGV of READ_OR_ACQUIRE (redis-scripts.ts), numkeys first. */
export function readOrAcquireArgs(keys: ReadOrAcquireKeys, acquire: AcquireOnMiss, stampTtlMs: number, lockToken: string): (string | number)[] {
  const lock = acquire.lock
  const all = [keys.entry, ...keys.stamps, ...(keys.watermark !== undefined ? [keys.watermark] : []), ...(lock ? [keys.lock] : [])]
  return [all.length, ...all, keys.stamps.length, keys.watermark !== undefined ? '1' : '0', stampTtlMs, lock ? '2' : '1',
    lock ? lockToken : '', lock ? Math.max(1, Math.ceil(lock.ttlMs)) : 0, ...keys.stamps.map(() => makeStamp())]
}

/** The reply of READ_OR_ACQUIRE for n stamps; `watermark` is the raw stored value. */
export function parseReadOrAcquire(reply: readonly (Buffer | null)[], n: number): { entry: Buffer | null; stamps: (string | null)[]; watermark: string | null; acquired?: AcquiredStamps } {
  const text = (value: Buffer | null | undefined) => (value ? value.toString() : null)
  const read = { entry: reply[0] ?? null, stamps: reply.slice(1, n + 1).map(text), watermark: text(reply[n + 1]) }
  if (reply.length <= n + 2) return read
  return { ...read, acquired: { stamps: reply.slice(n + 2, 2 * n + 2).map((v) => text(v) as string), locked: text(reply[2 * n + 2]) === '1' } }
}

/** KEYS and ARGV of WRITE_IF_UNCHANGED (redis-scripts.ts), numkeys first. */
export function writeIfUnchangedArgs(write: StoreWrite, keys: { readonly entry: string; readonly stamps: readonly string[]; readonly fillLock: string | undefined }, lockToken: string, fillChannel: string): (string | number | Buffer)[] {
  const lock = keys.fillLock // the lock key of write.endsFillOf, when the write ends a fill
  const all = lock === undefined ? [keys.entry, ...keys.stamps] : [keys.entry, ...keys.stamps, lock]
  return [all.length, ...all, Math.max(1, Math.ceil(write.ttlMs)), write.value, keys.stamps.length, lock === undefined ? '' : lockToken, fillChannel, write.endsFillOf ?? '', ...write.stamps]
}
