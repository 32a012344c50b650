import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Test } from 'tap'
import { makeLogger } from '../../src/logger.js'
import { startProxy, type RunningProxy } from '../../src/server.js'
import type { Clock } from '../../src/clock.js'
import { startOrigin, type Origin } from './origin.js'
import { JWT_SECRET } from './tokens.js'
import { REDIS_URL, uniquePrefix } from './env.js'

/** The contract routes of the issue, reused by most tests. */
export const CONTRACT_ROUTES = `
routes:
  - name: tickets
    path: /api/v2/helpdesk/tickets/
    ttl: 5m
    scope: user
    tags: ["tickets:{tenant}:{user}", "tickets:{tenant}"]
  - name: people-search
    path: /api/v2/people/search/
    ttl: 10m
    scope: tenant
    tags: ["people:{tenant}"]
  - name: attendance
    path: /api/v2/attendance/*
    ttl: 1h
    scope: user
    tags: ["attendance:{tenant}:{user}"]
`

export interface Harness {
  readonly origin: Origin
  readonly proxy: RunningProxy
  readonly url: string
  readonly configFile: string
  readonly keyPrefix: string
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export interface HarnessOptions {
  /** YAML appended after upstream/listen/store/identity; defaults to the contract routes. */
  readonly routes?: string
  readonly store?: 'redis' | 'memory'
  readonly redisUrl?: string
  readonly extra?: string
  readonly identity?: string
  readonly clock?: Clock
  readonly env?: NodeJS.ProcessEnv
  /** false: every L1 hit goes through Fastify (to compare with the fast path) */
  readonly fastPath?: boolean
  /** The proxy's logger (default: silent, or LOG_LEVEL) */
  readonly log?: Logger
}

export function configText(options: HarnessOptions & { keyPrefix: string }): string {
  const store = options.store === 'memory'
    ? `store:\n  keyPrefix: "${options.keyPrefix}"\n`
    : `store:\n  redis: \${REDIS_URL}\n  keyPrefix: "${options.keyPrefix}"\n  timeout: 200ms\n`
  const identity = options.identity ?? 'identity:\n  jwt:\n    secret: ${JWT_SECRET}\n    algorithms: [HS256]\n    claims: { tenant: tenant, user: sub }\n'
  return `upstream: \${UPSTREAM_URL}\nlisten:\n  host: 127.0.0.1\n  port: 0\n${store}${identity}${options.routes ?? CONTRACT_ROUTES}\n${options.extra ?? ''}\nlog:\n  level: \${LOG_LEVEL:-silent}\n`
}

/** A real origin on a socket and a real proxy in front of it, both closed in teardown. */
export async function startHarness(t: Test, options: HarnessOptions = {}): Promise<Harness> {
  const origin = await startOrigin()
  const keyPrefix = uniquePrefix('proxy')
  const dir = await mkdtemp(join(tmpdir(), 'ccp-'))
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, configText({ ...options, keyPrefix }))
  const env = { ...process.env, UPSTREAM_URL: origin.url, REDIS_URL: options.redisUrl ?? REDIS_URL, JWT_SECRET, ...options.env }
  const proxy = await startProxy({ configFile, env, watch: false, log: options.log ?? makeLogger(process.env.LOG_LEVEL ?? 'silent'), ...(options.clock ? { clock: options.clock } : {}), ...(options.fastPath === false ? { fastPath: false } : {}) })
    .catch(async (err: unknown) => { await origin.close(); throw err })
  if (options.store !== 'memory') await waitForStore(proxy)
  t.teardown(async () => {
    await proxy.close()
    await origin.close()
    if (options.store !== 'memory') await deleteKeys(options.redisUrl ?? REDIS_URL, keyPrefix)
  })
  const url = proxy.url
  return { origin, proxy, url, configFile, keyPrefix, fetch: (path, init) => fetch(url + path, init) }
}

async function waitForStore(proxy: RunningProxy): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try { await proxy.store.ping(); return } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
  } catch { /* the test may have stopped that Redis */ } finally { redis.disconnect() }
}

/** Polls until `check` passes or the deadline is reached; never a fixed sleep. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
