import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type pino from 'pino'
import type { Test } from 'tap'
import { makeLogger } from '../../src/logger.js'
import { startProxy, type RunningProxy } from '../../src/server.js'
import { ADMIN_TOKEN } from './admin.js'
import { counterConfigText, writeConfigFile, type CounterDatabase, type CounterOrigin, type InvalidationOptions } from './counter-world.js'
import { REDIS_URL, uniquePrefix } from './env.js'
import { deleteKeysUnder as deleteKeysUnderPrefix } from './replication.js'
import { freePort } from './redis-server.js'
import { JWT_SECRET } from './tokens.js'

export interface CounterProxy {
  readonly proxy: RunningProxy
  readonly url: string
  readonly keyPrefix: string
}

export interface CounterProxyOptions extends InvalidationOptions {
  readonly redisUrl?: string
  /** The database URL the proxy uses (a relay in front of Postgres, say); the test database by default. */
  readonly databaseUrl?: string
  readonly keyPrefix?: string
  readonly upstreamTimeout?: string
  readonly log?: pino.Logger
}

/** The real proxy, in this process, in front of the counter origin; closed and its keys removed in teardown. */
export async function startCounterProxy(t: Test, db: CounterDatabase, origin: CounterOrigin, options: CounterProxyOptions = {}): Promise<CounterProxy> {
  const keyPrefix = options.keyPrefix ?? uniquePrefix('world')
  const redisUrl = options.redisUrl ?? REDIS_URL
  const configFile = await writeConfigFile(counterConfigText(db, { ...options, keyPrefix }))
  const env = { ...process.env, UPSTREAM_URL: origin.url, REDIS_URL: redisUrl, JWT_SECRET, DATABASE_URL: options.databaseUrl ?? db.url }
  const proxy = await startProxy({ configFile, env, watch: false, log: options.log ?? makeLogger(process.env.LOG_LEVEL ?? 'silent') })
  t.teardown(async () => {
    await proxy.close()
    await deleteKeysUnder(redisUrl, keyPrefix)
  })
  const deadline = Date.now() + 5000
  for (;;) {
    try { await proxy.store.ping(); break } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { proxy, url: proxy.url, keyPrefix }
}

/**
 * A key prefix of this test's own, whose keys are removed in teardown. Register it before
 * starting the processes that use it: teardown runs last-registered first, so they are
 * gone before their keys are.
 */
export function ownKeyPrefix(t: Test, label: string, redisUrl = REDIS_URL): string {
  const prefix = uniquePrefix(label)
  t.teardown(() => deleteKeysUnder(redisUrl, prefix))
  return prefix
}

/** SCAN under a prefix of our own (never KEYS on a shared Redis, never FLUSHALL). */
export function deleteKeysUnder(redisUrl: string, prefix: string): Promise<void> {
  return deleteKeysUnderPrefix(prefix, redisUrl)
}

/** What the admin port's /status says about replication. */
export interface ReplicationStatus {
  readonly state: 'leader' | 'standby' | 'disconnected'
  readonly lastAppliedLsn: string | null
  readonly transactionsApplied: number
  readonly lastError: string | null
}

/**
 * The proxy as its own process (`node dist/cli.js start`), for the tests that kill it with
 * SIGKILL or SIGTERM. Needs `npm run build` (`npm test` runs it first).
 */
export interface ProxyProcess {
  readonly url: string
  readonly adminUrl: string
  readonly pid: number
  readonly child: ChildProcess
  /** Its log, one JSON line each. */
  readonly lines: string[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  replication(): Promise<ReplicationStatus | undefined>
  watermark(): Promise<number | null | undefined>
}

export const CLI = join(process.cwd(), 'dist', 'cli.js')

export interface ProxyProcessOptions {
  readonly configFile: string
  readonly upstreamUrl: string
  readonly databaseUrl: string
  readonly redisUrl?: string
  readonly port?: number
  readonly logLevel?: string
  /** Seed nodes for a config with `store.redisCluster: ${REDIS_CLUSTER}`. */
  readonly redisCluster?: readonly string[]
}

export async function spawnProxyProcess(t: Test, options: ProxyProcessOptions): Promise<ProxyProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`)
  const port = options.port ?? await freePort()
  const adminPort = await freePort()
  const child = spawn(process.execPath, [CLI, 'start', '--config', options.configFile], {
    env: {
      ...process.env, UPSTREAM_URL: options.upstreamUrl, REDIS_URL: options.redisUrl ?? REDIS_URL, JWT_SECRET, ADMIN_TOKEN,
      DATABASE_URL: options.databaseUrl, PORT: String(port), ADMIN_PORT: String(adminPort), LOG_LEVEL: options.logLevel ?? 'info',
      REDIS_CLUSTER: options.redisCluster?.join(',') ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  const collect = (data: Buffer) => {
    const text = partial + data.toString()
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const url = `http://127.0.0.1:${port}`
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const admin = async (path: string): Promise<unknown> => {
    const res = await fetch(adminUrl + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(5000) })
    return res.json()
  }
  const running: ProxyProcess = {
    url,
    adminUrl,
    pid: child.pid ?? -1,
    child,
    lines,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
    async replication() {
      try { return ((await admin('/status')) as { replication: ReplicationStatus | null }).replication ?? undefined } catch { return undefined }
    },
    async watermark() {
      try { return ((await admin('/status')) as { watermark: number | null }).watermark } catch { return undefined }
    },
  }
  const deadline = Date.now() + 20_000
  let gone = false
  void exited.then(() => { gone = true })
  for (;;) {
    if (gone) throw new Error(`the proxy process exited during start:\n${lines.slice(-20).join('\n')}`)
    try {
      const res = await fetch(adminUrl + '/healthz', { signal: AbortSignal.timeout(1000) })
      if (res.ok) return running
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`the proxy process did not start:\n${lines.slice(-20).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Child-process config for the counter world (admin port on, ports from the environment). */
export async function writeCounterProcessConfig(db: CounterDatabase, options: InvalidationOptions & { keyPrefix: string; upstreamTimeout?: string; redisCluster?: boolean }): Promise<string> {
  return writeConfigFile(counterConfigText(db, { ...options, admin: true }))
}
