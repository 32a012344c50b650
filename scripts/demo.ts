#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type pg from 'pg'
import { requireUp } from '../examples/helpdesk-api/find-up.js'
import { startHelpdeskApi, type RunningHelpdeskApi } from '../examples/helpdesk-api/server.js'
import { setUpHelpdeskDatabase } from '../examples/helpdesk-api/setup-database.js'
import { listTickets } from '../examples/helpdesk-api/ticket-queries.js'
import { makeHelpdeskToken } from '../examples/helpdesk-api/token.js'
import { makeCleanupStack, type CleanupStack } from './demo/cleanup-stack.js'
import { startDemoDatabase, type DemoDatabase } from './demo/demo-database.js'
import { readDemoSettings, type DemoSettings } from './demo/demo-settings.js'
import { runProxyCommand, startProxyProcess, type ProxyProcess } from './demo/proxy-process.js'
import { dropIdleReplicationSlot, hasReplicationSlot } from './demo/replication-slot.js'
import { formatTryCommands } from './demo/try-commands.js'
import { waitFor } from './demo/wait-for.js'

/**
 * `npm run demo`: the helpdesk API and the proxy in front of it, kept fresh from Postgres's
 * WAL, in one command on a machine with only Node and npm. DATABASE_URL and REDIS_URL are
 * optional (embedded Postgres, in-process store); see config/helpdesk.yaml for the rest.
 */
const DEMO_TENANT = 1

interface Paths { readonly root: string; readonly config: string; readonly cli: string }

async function main(): Promise<number> {
  const paths = locateFiles()
  const settings = await readDemoSettings(process.env)
  const cleanup = makeCleanupStack((message) => say(message))
  const stopRequested = waitForStopSignal()
  try {
    const proxy = await startEverything(paths, settings, cleanup)
    const reason = await Promise.race([stopRequested, proxy.exited.then((code) => `the proxy exited (code ${String(code)})`)])
    say(`stopping: ${reason}`)
    return reason.startsWith('the proxy exited') ? 1 : 0
  } finally {
    await cleanup.run()
    say('stopped')
  }
}

async function startEverything(paths: Paths, settings: DemoSettings, cleanup: CleanupStack): Promise<ProxyProcess> {
  const database = await startDemoDatabase(settings.databaseUrl)
  cleanup.push('stop the database', () => database.stop())
  say(`Postgres: ${database.description}`)
  const seeded = await setUpHelpdeskDatabase(database.url)
  say(seeded.seeded ? `schema created and seed loaded: ${JSON.stringify(seeded.counts)}` : 'schema present, seed already loaded')
  const api = await startHelpdeskApi({ databaseUrl: database.url, port: 0, host: '127.0.0.1', jwtSecret: settings.jwtSecret })
  cleanup.push('stop the helpdesk API', () => api.close())
  say(`helpdesk API: ${api.url}`)
  await forgetSlotOnExit(paths, database, cleanup)
  const env = makeProxyEnv(settings, api.url, database.url)
  const setupCode = await runProxyCommand(paths.cli, ['setup', '--config', paths.config], env)
  if (setupCode !== 0) throw new Error(`cdc-cache-proxy setup failed (exit code ${String(setupCode)}); see its output above`)
  const proxy = startProxyProcess(paths.cli, ['start', '--config', paths.config], env)
  cleanup.push('stop the proxy', () => proxy.stop())
  await printTryCommands({ settings, api, database, proxy })
  return proxy
}

function locateFiles(): Paths {
  const root = dirname(requireUp(import.meta.url, 'package.json'))
  const paths = { root, config: join(root, 'config', 'helpdesk.yaml'), cli: join(root, 'dist', 'cli.js') }
  if (!existsSync(paths.cli)) throw new Error(`${paths.cli} is missing: run \`npm run build\` (npm run demo does)`)
  return paths
}

/** The proxy reads everything else from config/helpdesk.yaml; these fill its ${VARS}. */
function makeProxyEnv(settings: DemoSettings, upstreamUrl: string, databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UPSTREAM_URL: upstreamUrl,
    PORT: String(settings.proxyPort),
    JWT_SECRET: settings.jwtSecret,
    DATABASE_URL: databaseUrl,
    ADMIN_TOKEN: settings.adminToken,
    ADMIN_PORT: String(settings.adminPort),
  }
  // Unset, `store.redis: ${REDIS_URL:-}` is empty and the proxy uses its memory store.
  if (settings.redisUrl === undefined) delete env['REDIS_URL']
  else env['REDIS_URL'] = settings.redisUrl
  return env
}

// On a database the demo does not own, a slot it created would retain WAL forever once the
// demo is gone; one that existed before belongs to someone else and stays.
async function forgetSlotOnExit(paths: Paths, database: DemoDatabase, cleanup: CleanupStack): Promise<void> {
  if (database.embedded) return
  const slot = readSlotName(paths.config)
  if (await hasReplicationSlot(database.url, slot)) return
  cleanup.push(`drop the replication slot ${slot}`, async () => {
    if (await dropIdleReplicationSlot(database.url, slot)) say(`dropped replication slot ${slot} (it would retain WAL)`)
  })
}

function readSlotName(configPath: string): string {
  const config = parseYaml(readFileSync(configPath, 'utf8')) as { invalidation?: { slot?: unknown } }
  const slot = config.invalidation?.slot
  if (typeof slot !== 'string') throw new Error(`${configPath} has no invalidation.slot`)
  return slot
}

async function printTryCommands(running: {
  settings: DemoSettings; api: RunningHelpdeskApi; database: DemoDatabase; proxy: ProxyProcess
}): Promise<void> {
  const { settings, api, database, proxy } = running
  const proxyUrl = `http://127.0.0.1:${settings.proxyPort}`
  const demo = await pickDemoUser(api.pool)
  const token = makeHelpdeskToken({ secret: settings.jwtSecret, claims: { tenant: DEMO_TENANT, sub: demo.user.id }, expiresInSec: 86_400 })
  await waitUntilCaching(proxyUrl, token, proxy)
  console.log(formatTryCommands({
    proxyUrl, token, tenant: DEMO_TENANT, ...demo,
    adminUrl: `http://127.0.0.1:${settings.adminPort}`,
    adminToken: settings.adminToken,
    databaseUrl: database.url,
    psqlAvailable: spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0,
    storeDescription: settings.redisUrl === undefined
      ? 'in-process memory (REDIS_URL not set; entries vanish with the proxy)'
      : `Redis at ${settings.redisUrl}`,
  }))
}

/** The tenant's first helpdesk agent, and the newest ticket on their list (what ?limit=1 shows). */
async function pickDemoUser(pool: pg.Pool) {
  const people = await pool.query<{ id: number; username: string }>(
    'SELECT id, username FROM peoples WHERE client_id = $1 AND is_active ORDER BY id LIMIT 1', [DEMO_TENANT],
  )
  const user = people.rows[0]
  if (user === undefined) throw new Error(`tenant ${DEMO_TENANT} has no active people`)
  const filter = { tenant: DEMO_TENANT, user: user.id, status: undefined, priority: undefined, search: undefined }
  const { results } = await listTickets(pool, filter, { limit: 1, offset: 0 })
  const ticket = results[0]
  if (ticket === undefined) throw new Error(`${user.username} has no tickets`)
  return { user, ticket: { id: ticket.id, title: ticket.title } }
}

/**
 * Waits until the proxy answers and caches. Right after start it bypasses the cache until it
 * has applied its first replication heartbeat (the freshness bound), so the printed MISS/HIT
 * would otherwise read BYPASS. The probe uses a people search the printed commands never
 * send, so their first request is still a MISS.
 */
async function waitUntilCaching(proxyUrl: string, token: string, proxy: ProxyProcess): Promise<void> {
  let lastStatus = 'no answer'
  const probe = async (): Promise<true | undefined> => {
    if (proxy.hasExited()) throw new Error('the proxy exited during start; see its output above')
    const response = await fetch(`${proxyUrl}/api/v2/people/search/?q=demo-readiness-probe`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => undefined)
    await response?.arrayBuffer()
    lastStatus = response === undefined ? 'no answer' : `${response.status} ${response.headers.get('cache-status') ?? ''}`
    const xCache = response?.headers.get('x-cache')
    return xCache === 'MISS' || xCache === 'HIT' ? true : undefined
  }
  try {
    await waitFor('the proxy to cache', probe, { timeoutMs: 30_000, intervalMs: 250 })
  } catch (err) {
    if (proxy.hasExited()) throw err
    say(`warning: the proxy is not caching yet (last answer: ${lastStatus}); the commands below may show BYPASS`)
  }
}

function waitForStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
}

function say(message: string): void {
  console.log(`[demo] ${message}`)
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error('[demo] failed:', err instanceof Error ? err.message : err)
  if (err instanceof Error && err.cause !== undefined) console.error(err.cause)
  process.exitCode = 1
})
