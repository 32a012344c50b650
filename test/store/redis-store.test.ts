import t from 'tap'
import pino from 'pino'
import { Redis } from 'ioredis'
import { makeRedisStore } from '../../src/store/redis-store.js'
import type { CacheStore } from '../../src/store/store.js'
import { runStoreContract } from '../helpers/store-contract.js'
import { REDIS_URL, uniquePrefix } from '../helpers/env.js'

const stores: CacheStore[] = []
const admin = new Redis(REDIS_URL)
const prefixes: string[] = []
t.teardown(async () => {
  await Promise.all(stores.map((s) => s.close()))
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length) await admin.del(...keys)
  }
  admin.disconnect()
})

async function makeStore(): Promise<CacheStore> {
  const keyPrefix = uniquePrefix('redis-store')
  prefixes.push(keyPrefix)
  const store = makeRedisStore({ url: REDIS_URL, keyPrefix, timeoutMs: 500, stampTtlMs: 60_000, log: pino({ level: 'silent' }) })
  stores.push(store)
  await waitForReady(store)
  return store
}

async function waitForReady(store: CacheStore): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try { await store.ping(); return } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

runStoreContract(t, makeStore, (ms) => new Promise((r) => setTimeout(r, ms)))
