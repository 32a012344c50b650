import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import { makeManualClock } from '../../src/clock.js'
import { makeLogger } from '../../src/logger.js'
import { startProxy, type RunningProxy } from '../../src/server.js'
import { connectRedis, deleteByPrefix } from '../lib/redis-prefix.js'
import { waitFor } from '../lib/wait.js'

/**
 * The proxy the hit-path diagnoses measure, in their own process: the real one (startProxy)
 * with config/helpdesk.yaml's tickets route, Redis (REDIS_URL, default the local one) with L1,
 * in front of a local origin answering a 16 KB JSON list; the list is primed (MISS, a hit from
 * Redis that admits it to L1, a fast-path hit). Its clock stands still, so the copy never ages
 * out of L1 while the measurements run. Its keys are deleted by close().
 */
export const PATH = '/api/v2/helpdesk/tickets/?limit=20'
const SECRET = 'diag-secret-with-enough-entropy-0123456789'

export interface DiagProxy {
  readonly proxy: RunningProxy
  /** What a client sends for the primed hit (Accept as fetch adds it: the route varies on it). */
  readonly headers: IncomingHttpHeaders & { host: string; authorization: string }
  readonly body: Buffer
  close(): Promise<void>
}

export async function startDiagProxy(options: { keyPrefix: string }): Promise<DiagProxy> {
  const body = Buffer.from(JSON.stringify({ results: Array.from({ length: 20 }, (_, i) => ({ id: i, subject: 'x'.repeat(800) })) }))
  const origin = await startOrigin(body)
  const dir = mkdtempSync(join(tmpdir(), 'ccp-diag-'))
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, CONFIG)
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
  const env = { UPSTREAM_URL: origin.url, JWT_SECRET: SECRET, REDIS_URL: redisUrl, KEY_PREFIX: options.keyPrefix }
  const proxy = await startProxy({ configFile, env, watch: false, clock: makeManualClock(Date.now()), log: makeLogger('silent') })
  const close = async () => {
    await proxy.close()
    await origin.close()
    const redis = connectRedis(redisUrl)
    await deleteByPrefix(redis, options.keyPrefix)
    await redis.quit()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    // The store's client does not queue commands while it connects (every one fails fast).
    await waitFor('the store', async () => (await proxy.store.ping(), true), 5000, 20)
    const token = createSigner({ key: SECRET, algorithm: 'HS256' })({ tenant: 1, sub: 7, exp: Math.floor(Date.now() / 1000) + 3600 })
    const headers = { host: new URL(proxy.url).host, authorization: `Bearer ${token}`, 'x-tenant-id': '1', accept: '*/*' }
    for (const expected of ['MISS', 'HIT', 'HIT']) {
      const response = await fetch(proxy.url + PATH, { headers: { authorization: headers.authorization, 'accept-encoding': 'identity' } })
      await response.arrayBuffer()
      const xcache = response.headers.get('x-cache')
      if (xcache !== expected) throw new Error(`priming: expected ${expected}, got ${xcache}`)
    }
    return { proxy, headers, body, close }
  } catch (err) {
    await close()
    throw err
  }
}

const CONFIG = `upstream: "\${UPSTREAM_URL}"
listen: { host: 127.0.0.1, port: 0 }
store:
  redis: "\${REDIS_URL}"
  keyPrefix: "\${KEY_PREFIX}"
  l1: { enabled: true, maxEntries: 1000, maxSize: 64mb, maxAge: 1h }
identity:
  jwt:
    secret: \${JWT_SECRET}
    algorithms: [HS256]
    claims: { tenant: tenant, user: sub }
routes:
  - { name: tickets, path: /api/v2/helpdesk/tickets/, ttl: 5m, scope: user, vary: [Accept], tags: ["tickets:{tenant}:{user}", "tickets:{tenant}"] }
log: { level: silent }
`

async function startOrigin(body: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept' }).end(body))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
