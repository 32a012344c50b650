import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Redis } from 'ioredis'
import { makeRedisStore } from '../../src/store/redis-store.js'
import type { CacheStore } from '../../src/store/store.js'
import { runStoreContract } from '../helpers/store-contract.js'
import { makePrivateRedis } from '../helpers/redis-server.js'
import { uniquePrefix } from '../helpers/env.js'

/**
 * store.redis: unix:///path/to/redis.sock, a Redis beside the proxy on its Unix socket: the
 * whole store contract (entries, stamps, locks, the invalidation feed's pub/sub) over a private
 * redis-server that listens on a socket, reached through the socket.
 */
const dir = mkdtempSync(join(tmpdir(), 'ccp-redis-sock-'))
const socket = join(dir, 'redis.sock')
const redis = await makePrivateRedis({ unixSocket: socket })
await redis.start()
const stores: CacheStore[] = []
t.teardown(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function makeStore(): Promise<CacheStore> {
  const store = makeRedisStore({ url: redis.socketUrl as string, keyPrefix: uniquePrefix('redis-sock'), timeoutMs: 500, stampTtlMs: 60_000, log: pino({ level: 'silent' }) })
  stores.push(store)
  const deadline = Date.now() + 5000
  for (;;) {
    try { await store.ping(); return store } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

t.test('the store reaches Redis through the socket, not its TCP port', async (t) => {
  const store = await makeStore()
  await store.ping()
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  const clients = String(await admin.client('LIST')).split('\n').filter((line) => line.includes('cmd=ping'))
  t.ok(clients.length > 0, 'the store pinged')
  t.ok(clients.every((line) => line.includes(`laddr=${socket}`)), 'on the socket')
})

runStoreContract(t, makeStore, (ms) => new Promise((r) => setTimeout(r, ms)))
