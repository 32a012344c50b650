import type { Clock } from '../clock.js'
import type { CacheStore, InvalidationEvent, StoreRead, StoreWrite } from './store.js'
import { globToRegExp } from './glob.js'
import { makeStamp } from './stamp.js'

export interface MemoryStoreOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly stampTtlMs: number
  readonly clock: Clock
}

interface Timed<T> { value: T; expiresAt: number }

/**
 * The embedded store for a single process: a bounded LRU (Map insertion order) with the
 * same stamp semantics as the Redis store, so one contract suite covers both.
 */
export function makeMemoryStore(options: MemoryStoreOptions): CacheStore {
  const { clock, stampTtlMs } = options
  const entries = new Map<string, Timed<Buffer>>()
  const stamps = new Map<string, Timed<string>>()
  let bytes = 0
  let watermark: number | null = null
  /** Coalescing locks: until when, and whether another fetch waited on it (only then is its end announced). */
  const locks = new Map<string, { until: number; awaited: boolean }>()
  const fillListeners = new Set<(key: string) => void>()
  const invalidationListeners = new Set<(event: InvalidationEvent) => void>()
  const emit = (event: InvalidationEvent) => { for (const listener of invalidationListeners) listener(event) }

  function liveEntry(key: string): Buffer | null {
    const item = entries.get(key)
    if (!item) return null
    if (item.expiresAt <= clock.now()) { removeEntry(key); return null }
    entries.delete(key) // re-insert: most recently used goes last
    entries.set(key, item)
    return item.value
  }

  function removeEntry(key: string): void {
    const item = entries.get(key)
    if (!item) return
    bytes -= item.value.length
    entries.delete(key)
  }

  function evictUntilFits(): void {
    for (const key of entries.keys()) {
      if (entries.size <= options.maxEntries && bytes <= options.maxBytes) return
      removeEntry(key)
    }
  }

  function liveStamp(tag: string): string | null {
    const item = stamps.get(tag)
    if (!item) return null
    if (item.expiresAt <= clock.now()) { stamps.delete(tag); return null }
    return item.value
  }

  function acquire(tag: string): string {
    const value = liveStamp(tag) ?? makeStamp()
    stamps.set(tag, { value, expiresAt: clock.now() + stampTtlMs })
    return value
  }

  function takeLock(key: string, ttlMs: number, markIfHeld = false): boolean {
    const held = locks.get(key)
    if (held !== undefined && held.until > clock.now()) {
      if (markIfHeld) held.awaited = true
      return false
    }
    locks.set(key, { until: clock.now() + ttlMs, awaited: false })
    return true
  }

  function endFill(key: string): void {
    const held = locks.get(key)
    locks.delete(key)
    if (held?.awaited === true) for (const listener of fillListeners) listener(key)
  }

  return {
    kind: 'memory',
    read: async (key, tags, onMiss): Promise<StoreRead> => {
      const read = { entry: liveEntry(key), stamps: tags.map(liveStamp), watermark }
      if (onMiss === undefined || (read.entry !== null && !read.stamps.includes(null))) return read
      return { ...read, acquired: { stamps: tags.map(acquire), locked: onMiss.lock !== undefined && takeLock(onMiss.lock.key, onMiss.lock.ttlMs, true) } }
    },
    acquireStamps: async (tags) => tags.map(acquire),
    acquireStampsAndLock: async (tags, lock) => ({ stamps: tags.map(acquire), locked: takeLock(lock.key, lock.ttlMs, true) }),
    writeIfUnchanged: async (write: StoreWrite) => {
      const written = write.tags.every((tag, i) => liveStamp(tag) === write.stamps[i])
      if (written) {
        removeEntry(write.key)
        entries.set(write.key, { value: write.value, expiresAt: clock.now() + write.ttlMs })
        bytes += write.value.length
        evictUntilFits()
      }
      if (write.endsFillOf !== undefined) endFill(write.endsFillOf)
      return written
    },
    invalidateTags: async (tags) => {
      const deleted = tags.filter((tag) => stamps.delete(tag)).length
      emit({ kind: 'tags', tags })
      return deleted
    },
    invalidateTagPattern: async (glob) => {
      const pattern = globToRegExp(glob)
      const deleted = [...stamps.keys()].filter((tag) => pattern.test(tag) && stamps.delete(tag)).length
      emit({ kind: 'reset' })
      return deleted
    },
    writeWatermark: async (ms) => {
      if (watermark === null || ms > watermark) watermark = ms
      emit({ kind: 'watermark', ms })
    },
    onInvalidation: (listener) => {
      invalidationListeners.add(listener)
      return () => invalidationListeners.delete(listener)
    },
    readWatermark: async () => watermark,
    tryLock: async (key, ttlMs) => takeLock(key, ttlMs),
    endFill: async (key) => endFill(key),
    onFill: (listener) => {
      fillListeners.add(listener)
      return () => fillListeners.delete(listener)
    },
    deleteEntry: async (key) => removeEntry(key),
    describe: async () => ({ kind: 'memory' }),
    ping: async () => {},
    close: async () => { entries.clear(); stamps.clear(); locks.clear(); fillListeners.clear(); invalidationListeners.clear(); bytes = 0 },
  }
}
