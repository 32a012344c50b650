import type { Test } from 'tap'
import { makeLogger } from '../../src/logger.js'
import { startProxy, type RunningProxy } from '../../src/server.js'
import { writeConfigFile, withAdmin } from './counter-world.js'
import { deleteKeysUnder } from './counter-proxy.js'
import { REDIS_URL, uniquePrefix } from './env.js'
import { startOrigin, type Origin } from './origin.js'
import { configText } from './proxy.js'
import { createTestDatabase, waitFor, type TestDatabase } from './replication.js'
import { JWT_SECRET, bearer } from './tokens.js'
import { ADMIN_TOKEN } from './admin.js'

/**
 * The real proxy with its log captured (pino through a destination stream), in front of the
 * echo origin, with an invalidation section of the test's choosing; for the replication
 * hostile tests, which look at what the listener says as well as at what it does.
 */
export interface LoggedProxy {
  readonly proxy: RunningProxy
  readonly origin: Origin
  readonly url: string
  readonly keyPrefix: string
  /** Parsed log lines. */
  readonly logs: Array<Record<string, unknown>>
  readonly configFile: string
  /** A request to the admin server with its token (`admin: true`). */
  admin(path: string): Promise<Response>
}

export interface LoggedProxyOptions {
  readonly db: TestDatabase
  readonly routes: string
  readonly tables: string
  readonly maxRowsPerTable?: number
  readonly level?: string
  /** Also run the admin server (/status, /metrics, /readyz). */
  readonly admin?: boolean
}

/** The config the logged proxy runs, so that a test can rewrite it and reload. */
export function loggedProxyConfig(options: LoggedProxyOptions & { keyPrefix: string }): string {
  const invalidation = `invalidation:
  database: \${DATABASE_URL}
  slot: ${options.db.slot}
  publication: ${options.db.publication}
  heartbeatInterval: 200ms
  freshnessBound: 3s
  maxRowsPerTable: ${options.maxRowsPerTable ?? 1000}
  tables:
${options.tables}`
  const admin = options.admin ? `admin:\n  host: 127.0.0.1\n  port: 0\n  token: \${ADMIN_TOKEN}\n` : ''
  return configText({ keyPrefix: options.keyPrefix, routes: options.routes, extra: invalidation + admin })
}

export async function startLoggedProxy(t: Test, options: LoggedProxyOptions): Promise<LoggedProxy> {
  const origin = await startOrigin()
  t.teardown(() => origin.close())
  const keyPrefix = uniquePrefix('logged')
  const configFile = await writeConfigFile(loggedProxyConfig({ ...options, keyPrefix }))
  const logs: Array<Record<string, unknown>> = []
  const log = makeLogger(options.level ?? 'info', { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } })
  const env = { ...process.env, UPSTREAM_URL: origin.url, REDIS_URL, JWT_SECRET, DATABASE_URL: options.db.url, ADMIN_TOKEN }
  const proxy = await startProxy({ configFile, watch: false, log, env })
  t.teardown(async () => {
    await proxy.close()
    await deleteKeysUnder(REDIS_URL, keyPrefix)
  })
  await waitFor(async () => { await proxy.store.ping(); return true }, { timeoutMs: 5000, what: 'the store' })
  const admin = (path: string): Promise<Response> => {
    if (proxy.adminUrl === undefined) throw new Error('started without admin: true')
    return fetch(proxy.adminUrl + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  }
  return { proxy, origin, url: proxy.url, keyPrefix, logs, configFile, admin }
}

/** Waits until the watermark is known, so that entries can be stored. */
export async function waitForCaching(url: string, path: string): Promise<void> {
  await waitFor(async () => (await fetch(url + path, { headers: bearer({ tenant: 0, sub: 'probe' }) })).headers.get('x-cache') !== 'BYPASS', { timeoutMs: 20_000, what: 'the first watermark' })
}

/** X-Cache and the reason of a request of `tenant` for `path`. */
export async function cacheOf(url: string, path: string, tenant: number): Promise<string> {
  const res = await fetch(url + path, { headers: bearer({ tenant, sub: 'u' }) })
  await res.arrayBuffer()
  const reason = /detail=([A-Z-]+)/.exec(res.headers.get('cache-status') ?? '')?.[1]
  return `${res.headers.get('x-cache')}${reason ? ` ${reason}` : ''}`
}

export { createTestDatabase, withAdmin }
