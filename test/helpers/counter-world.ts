import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { DATABASE_URL } from './env.js'
import { dropDatabaseAndSlots, uniqueName } from './replication.js'

/**
 * A small world for the fault and history tests: per tenant one `counters` row whose
 * `version` writers bump with SQL (never through the proxy), an origin that reads that row,
 * and a proxy route whose entries carry the tenant's tag. Every write also inserts one
 * `write_log` row in the same transaction, whose tag `write:<id>` names exactly that write:
 * a stamp acquired for it before the write must be gone once the write is applied, which
 * counts applied writes one by one (see stamp-ledger.ts).
 *
 * The database is created and dropped with connections of its own (pools, which reconnect),
 * so a Postgres restart in the middle of a test does not kill the test process.
 */
export interface CounterDatabase {
  readonly name: string
  readonly url: string
  readonly slot: string
  readonly publication: string
  readonly tenants: readonly number[]
  /** Writers, checks and the origin's reads; survives a Postgres restart (it reconnects). */
  readonly pool: pg.Pool
  /** The committed writes, by id, as the database has them (the truth after a fault). */
  committedWrites(): Promise<Map<number, { tenant: number; version: number }>>
  /** The current version of every tenant. */
  versions(): Promise<Map<number, number>>
}

export const WRITE_SQL = `WITH u AS (UPDATE counters SET version = version + 1 WHERE tenant_id = $1 RETURNING tenant_id, version)
INSERT INTO write_log (id, tenant_id, version) SELECT $2, tenant_id, version FROM u RETURNING version,
pg_current_wal_insert_lsn()::text AS lsn_before_commit`

export interface CounterDatabaseOptions {
  readonly tenants?: number
  readonly replicaIdentityFull?: boolean
  /** The server to create it on (a private cluster, say); DATABASE_URL by default. */
  readonly serverUrl?: string
}

export async function createCounterDatabase(t: Test, label: string, options: CounterDatabaseOptions = {}): Promise<CounterDatabase> {
  const name = uniqueName(label)
  const serverUrl = options.serverUrl ?? DATABASE_URL
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`), serverUrl)
  const url = new URL(serverUrl)
  url.pathname = '/' + name
  const pool = new pg.Pool({ connectionString: url.toString(), max: 12 })
  pool.on('error', () => {}) // idle connections die on purpose in the fault tests
  t.teardown(async () => {
    await pool.end().catch(() => {})
    await dropDatabase(name, serverUrl)
  })
  const tenants = Array.from({ length: options.tenants ?? 6 }, (_, i) => i + 1)
  await pool.query(`
    CREATE TABLE counters (tenant_id int PRIMARY KEY, version int NOT NULL DEFAULT 0);
    CREATE TABLE write_log (id bigint PRIMARY KEY, tenant_id int NOT NULL, version int NOT NULL);
    ${options.replicaIdentityFull === false ? '' : 'ALTER TABLE counters REPLICA IDENTITY FULL;'}
    INSERT INTO counters (tenant_id) SELECT g FROM generate_series(1, ${tenants.length}) g;`)
  return {
    name,
    url: url.toString(),
    slot: `${name}_slot`,
    publication: `${name}_pub`,
    tenants,
    pool,
    async committedWrites() {
      const rows = (await pool.query<{ id: string; tenant_id: number; version: number }>('SELECT id, tenant_id, version FROM write_log')).rows
      return new Map(rows.map((r) => [Number(r.id), { tenant: r.tenant_id, version: r.version }]))
    },
    async versions() {
      const rows = (await pool.query<{ tenant_id: number; version: number }>('SELECT tenant_id, version FROM counters')).rows
      return new Map(rows.map((r) => [r.tenant_id, r.version]))
    },
  }
}

/** A short-lived admin connection: one that lived across a Postgres restart would be dead. */
export async function withAdmin<T>(run: (admin: pg.Client) => Promise<T>, serverUrl = DATABASE_URL): Promise<T> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 })
    admin.on('error', () => {})
    try {
      await admin.connect()
    } catch (err) {
      await admin.end().catch(() => {})
      // Postgres may be restarting (the chaos suite): wait for it within the deadline.
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 200))
      continue
    }
    try {
      return await run(admin)
    } finally {
      await admin.end().catch(() => {})
    }
  }
}

function dropDatabase(name: string, serverUrl: string): Promise<void> {
  return withAdmin((admin) => dropDatabaseAndSlots(admin, name), serverUrl)
}

export const COUNTER_PATH = '/api/counter/'

export const COUNTER_ROUTES = `routes:
  - name: counter
    path: ${COUNTER_PATH}
    ttl: 10m
    scope: tenant
    tags: ["counter:{tenant}"]
`

export interface InvalidationOptions {
  readonly freshnessBound?: string
  readonly heartbeatInterval?: string
  readonly maxRowsPerTable?: number
}

/** The invalidation section; `${DATABASE_URL}` comes from each proxy's environment. */
export function counterInvalidationYaml(db: Pick<CounterDatabase, 'slot' | 'publication'>, options: InvalidationOptions = {}): string {
  return `invalidation:
  database: \${DATABASE_URL}
  slot: ${db.slot}
  publication: ${db.publication}
  heartbeatInterval: ${options.heartbeatInterval ?? '200ms'}
  freshnessBound: ${options.freshnessBound ?? '2s'}
  maxRowsPerTable: ${options.maxRowsPerTable ?? 1000}
  tables:
    counters: ["counter:{tenant_id}"]
    write_log: ["write:{id}"]
`
}

/**
 * The whole config of a counter proxy. Ports, URLs and secrets come from the environment so
 * that one file serves several processes (two replicas, or a restarted one).
 */
export function counterConfigText(db: Pick<CounterDatabase, 'slot' | 'publication'>, options: InvalidationOptions & { keyPrefix: string; admin?: boolean; upstreamTimeout?: string; storeTimeout?: string; redisCluster?: boolean }): string {
  const admin = options.admin ? 'admin:\n  host: 127.0.0.1\n  port: ${ADMIN_PORT}\n  token: ${ADMIN_TOKEN}\n' : ''
  return `upstream: \${UPSTREAM_URL}
upstreamTimeout: ${options.upstreamTimeout ?? '5s'}
listen:
  host: 127.0.0.1
  port: \${PORT:-0}
store:
  ${options.redisCluster ? 'redisCluster: ${REDIS_CLUSTER}' : 'redis: ${REDIS_URL}'}
  keyPrefix: "${options.keyPrefix}"
  timeout: ${options.storeTimeout ?? '200ms'}
identity:
  jwt:
    secret: \${JWT_SECRET}
    algorithms: [HS256]
    claims: { tenant: tenant, user: sub }
${COUNTER_ROUTES}${counterInvalidationYaml(db, options)}${admin}log:
  level: \${LOG_LEVEL:-silent}
`
}

export async function writeConfigFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'ccp-world-')), 'config.yaml')
  await writeFile(file, text)
  return file
}

/**
 * The upstream API of the counter world: reads the tenant's row on every request. The tenant
 * comes from the token's payload unverified (the proxy verifies; the origin only echoes).
 * It can be made slow, and stopped and started again on the same port (unreachable upstream).
 * Its own answers carry `x-origin: counter`, so a 5xx made by the proxy is told apart.
 */
export interface CounterOrigin {
  readonly url: string
  readonly port: number
  /** Added before each answer; 0 by default. */
  delayMs: number
  requests: number
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startCounterOrigin(t: Test, db: Pick<CounterDatabase, 'pool'>): Promise<CounterOrigin> {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  let port = 0
  const origin: CounterOrigin = {
    url: '',
    port: 0,
    delayMs: 0,
    requests: 0,
    async start() {
      const next = createServer((req, res) => void answer(req, res))
      next.on('connection', (socket) => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)) })
      await new Promise<void>((resolve, reject) => { next.once('error', reject); next.listen(port, '127.0.0.1', () => resolve()) })
      server = next
      port = (next.address() as AddressInfo).port
    },
    async stop() {
      const current = server
      server = undefined
      if (!current) return
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => current.close(() => resolve()))
    },
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    origin.requests++
    if (origin.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, origin.delayMs))
    const tenant = tenantOf(req)
    try {
      const row = (await db.pool.query<{ version: number }>('SELECT version FROM counters WHERE tenant_id = $1', [tenant])).rows[0]
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'counter' })
      res.end(JSON.stringify({ tenant, version: row?.version ?? null }))
    } catch (err) {
      // The API's own failure (its database is restarting): a 5xx the proxy must pass on, not cause.
      res.writeHead(503, { 'content-type': 'application/json', 'x-origin': 'counter' })
      res.end(JSON.stringify({ error: (err as Error).message }))
    }
  }

  await origin.start()
  t.teardown(() => origin.stop())
  return Object.assign(origin, { url: `http://127.0.0.1:${port}`, port })
}

function tenantOf(req: IncomingMessage): number | null {
  const payload = (req.headers.authorization ?? '').split('.')[1]
  if (!payload) return null
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { tenant?: unknown }
    return typeof claims.tenant === 'number' ? claims.tenant : null
  } catch {
    return null
  }
}
