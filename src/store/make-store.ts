import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { CompiledConfig } from '../config/types.js'
import type { CacheStore } from './store.js'
import { makeMemoryStore } from './memory-store.js'
import { makeRedisStore } from './redis-store.js'
import { makeRedisClusterStore } from './redis-cluster-store.js'
import { makeClusterLayout } from './cluster-layout.js'

/** A stamp must outlive every entry that carries it; an early expiry is safe (a miss), a late one costs memory only. */
export function stampTtlFor(config: CompiledConfig): number {
  const longest = Math.max(0, ...config.routes.map((r) => r.ttlMs + r.staleWhileRevalidateMs + r.staleIfErrorMs))
  return Math.max(3_600_000, 2 * longest)
}

export function makeStore(config: CompiledConfig, clock: Clock, log: Logger): CacheStore {
  const stampTtlMs = stampTtlFor(config)
  const store = config.store
  if (store.kind === 'redis-cluster') return makeRedisClusterStore({ urls: store.urls, keyPrefix: store.keyPrefix, timeoutMs: store.timeoutMs, stampTtlMs, log })
  if (store.kind === 'redis') return makeRedisStore({ url: store.url, keyPrefix: store.keyPrefix, timeoutMs: store.timeoutMs, stampTtlMs, log })
  return makeMemoryStore({ maxEntries: store.maxEntries, maxBytes: store.maxBytes, stampTtlMs, clock })
}

/** The name of an entry's key in the store, for operators (`/explain`). */
export function entryKeyName(store: CompiledConfig['store'], key: string): string {
  return store.kind === 'redis-cluster' ? makeClusterLayout(store.keyPrefix).entryKey(key) : `${store.keyPrefix}e:${key}`
}
