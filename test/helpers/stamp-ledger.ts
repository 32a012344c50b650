import type { Test } from 'tap'
import type { ReplicationListener } from '../../src/invalidation/replication-listener.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { makeRedisClusterStore } from '../../src/store/redis-cluster-store.js'
import type { CacheStore } from '../../src/store/store.js'
import { REDIS_URL } from './env.js'
import { testLog } from './replication.js'

/**
 * Counts applied writes one by one through the proxy's own store. Before write `id` is made,
 * the stamp of its tag `write:<id>` is created under the proxy's key prefix; the write's
 * invalidation deletes it. A stamp still there after the run is a write never applied. This
 * needs the store to keep its data (not for a Redis restart: use the applied-LSN ledger).
 */
export interface StampLedger {
  readonly store: CacheStore
  /** Creates the stamp of write `id`; false if the store did not answer (the write is then not ledgered). */
  acquire(id: number): Promise<boolean>
  /** Recreates stamps (to watch a replay delete them again). */
  reacquire(ids: readonly number[]): Promise<void>
  /** Of these writes, those whose stamp is still there. */
  unapplied(ids: readonly number[]): Promise<number[]>
}

export const writeTag = (id: number): string => `write:${id}`

export async function makeStampLedger(t: Test, keyPrefix: string, redisUrl = REDIS_URL): Promise<StampLedger> {
  const store = makeRedisStore({ url: redisUrl, keyPrefix, timeoutMs: 1000, stampTtlMs: 3_600_000, log: testLog() })
  t.teardown(() => store.close())
  const deadline = Date.now() + 5000
  for (;;) {
    try { await store.ping(); break } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return {
    store,
    async acquire(id) {
      try {
        await store.acquireStamps([writeTag(id)])
        return true
      } catch {
        return false
      }
    },
    async reacquire(ids) {
      for (let i = 0; i < ids.length; i += 500) await store.acquireStamps(ids.slice(i, i + 500).map(writeTag))
    },
    async unapplied(ids) {
      const out: number[] = []
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500)
        const read = await store.read('__ledger__', chunk.map(writeTag))
        read.stamps.forEach((stamp, j) => { if (stamp !== null) out.push(chunk[j] as number) })
      }
      return out
    },
  }
}

/**
 * The in-process counterpart, independent of what the store keeps: the distinct commit LSNs
 * of applied transactions that wrote `write_log`. Each write is one transaction, and a
 * transaction replayed after a fault has the same LSN, so the size of the set is the number
 * of writes applied (purged, then acknowledged).
 */
export function trackAppliedWrites(listener: ReplicationListener): Set<string> {
  const lsns = new Set<string>()
  listener.on('applied', (applied) => {
    if (applied.tables.includes('public.write_log')) lsns.add(applied.lsn)
  })
  return lsns
}

/**
 * The ledger on a Redis Cluster, where an invalidation that cannot reach a slot is applied by
 * flushing the slot's tenants instead (their `*` stamp): a write counts as applied when its
 * own stamp is gone or the `*` stamp created beside it is.
 */
export async function makeClusterStampLedger(t: Test, keyPrefix: string, urls: readonly string[]): Promise<StampLedger> {
  const store = makeRedisClusterStore({ urls, keyPrefix, timeoutMs: 1000, stampTtlMs: 3_600_000, log: testLog() })
  t.teardown(() => store.close())
  const deadline = Date.now() + 10_000
  for (;;) {
    try { await store.ping(); break } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const tags = (id: number) => [writeTag(id), '*']
  return {
    store,
    async acquire(id) {
      try {
        await store.acquireStamps(tags(id))
        return true
      } catch {
        return false
      }
    },
    async reacquire(ids) {
      await Promise.all(ids.map((id) => store.acquireStamps(tags(id))))
    },
    async unapplied(ids) {
      const reads = await Promise.all(ids.map((id) => store.read(`${id}:ledger`, tags(id))))
      return ids.filter((_, i) => reads[i]?.stamps.every((stamp) => stamp !== null))
    },
  }
}
