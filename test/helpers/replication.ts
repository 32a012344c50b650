import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { Redis } from 'ioredis'
import pg from 'pg'
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication'
import pino, { type Logger } from 'pino'
import type { Test } from 'tap'
import type { InvalidationConfig, TableRule } from '../../src/config/types.js'
import { makeRedisStore } from '../../src/store/redis-store.js'
import { escapeGlob } from '../../src/store/glob.js'
import type { CacheStore } from '../../src/store/store.js'
import { parseTagTemplate, type TagTemplate } from '../../src/tags/tag-template.js'
import { DATABASE_URL, REDIS_URL, uniquePrefix } from './env.js'

/**
 * Isolation for the invalidation suites: each test file gets its own database, slot and
 * publication names and Redis key prefix, and drops them in teardown, because other
 * suites run against the same Postgres and Redis at the same time.
 */
export interface TestDatabase {
  readonly name: string
  readonly url: string
  /** A plain (non-replication) connection to the test database. */
  readonly sql: pg.Client
  readonly slot: string
  readonly publication: string
}

export function uniqueName(label: string): string {
  return `ccp_t_${label}_${randomBytes(4).toString('hex')}`
}

export async function createTestDatabase(t: Test, label: string): Promise<TestDatabase> {
  const name = uniqueName(label)
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(DATABASE_URL)
  url.pathname = '/' + name
  const sql = new pg.Client({ connectionString: url.toString() })
  sql.on('error', () => {}) // terminated in teardown on purpose
  await sql.connect()
  t.teardown(async () => {
    await sql.end().catch(() => {})
    await dropDatabaseAndSlots(admin, name)
    await admin.end()
  })
  return { name, url: url.toString(), sql, slot: `${name}_slot`, publication: `${name}_pub` }
}

/** Slots outlive their database's connections and block DROP DATABASE: end their walsenders first. */
export async function dropDatabaseAndSlots(admin: pg.Client, name: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    await admin.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL', [name])
    try {
      await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [name])
      break
    } catch (err) {
      if (Date.now() > deadline) throw err // a slot still active: a walsender that will not die
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

export function makeRules(tables: Record<string, readonly string[]>): TableRule[] {
  return Object.entries(tables).map(([name, templates]) => {
    const [schema, table] = name.includes('.') ? name.split('.', 2) as [string, string] : ['public', name]
    return { name, schema, table, tags: templates.map(template) }
  })
}

export function template(source: string): TagTemplate {
  const parsed = parseTagTemplate(source)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.template
}

export function makeConfig(db: TestDatabase, tables: Record<string, readonly string[]>, overrides: Partial<InvalidationConfig> = {}): InvalidationConfig {
  return {
    database: db.url,
    slot: db.slot,
    publication: db.publication,
    tables: makeRules(tables),
    freshnessBoundMs: 5000,
    heartbeatIntervalMs: 200,
    maxRowsPerTable: 1000,
    ...overrides,
  }
}

export function testLog(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
}

/** The real Redis store under a prefix of its own, removed in teardown (SCAN, never FLUSHDB). */
export async function makeTestStore(t: Test, label: string): Promise<CacheStore> {
  const keyPrefix = uniquePrefix(label)
  const store = makeRedisStore({ url: REDIS_URL, keyPrefix, timeoutMs: 1000, stampTtlMs: 600_000, log: testLog() })
  t.teardown(async () => {
    await store.close()
    await deleteKeysUnder(keyPrefix)
  })
  await waitFor(async () => { await store.ping(); return true }, { timeoutMs: 5000, what: 'redis ready' })
  return store
}

/** SCAN under a prefix of our own (never KEYS on a shared Redis, never FLUSHALL). */
export async function deleteKeysUnder(prefix: string, redisUrl = REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  } catch { /* that Redis may be stopped by the test */ } finally {
    redis.disconnect()
  }
}

export interface WaitOptions {
  readonly timeoutMs?: number
  readonly intervalMs?: number
  readonly what: string
}

/** Polls until `check` returns a value other than false/undefined (or stops throwing), or fails at the deadline. */
export async function waitFor<T>(check: () => Promise<T | false | undefined> | T | false | undefined, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== false && value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what}`, { cause: lastError })
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25))
  }
}

/** Resolves with the first event whose arguments satisfy `match`; registered before the action that causes it. */
export function nextEvent<A extends unknown[]>(emitter: EventEmitter, event: string, match: (...args: A) => boolean, timeoutMs = 20_000): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, listener); reject(new Error(`timed out waiting for "${event}"`)) }, timeoutMs)
    function listener(...args: unknown[]): void {
      if (!match(...(args as A))) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(args as A)
    }
    emitter.on(event, listener)
  })
}

export async function confirmedFlushLsn(sql: pg.Client, slot: string): Promise<string | null> {
  const result = await sql.query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])
  return result.rows[0]?.lsn ?? null
}

/** Whether each tag still has its stamp (true) or was invalidated (false). */
export async function stampsAlive(store: CacheStore, tags: readonly string[]): Promise<Record<string, boolean>> {
  const read = await store.read('__none__', tags)
  return Object.fromEntries(tags.map((tag, i) => [tag, read.stamps[i] !== null]))
}

/**
 * A bare pg-logical-replication consumer, for the tests that pin the library's own
 * behaviour. Records every data and keepalive event.
 */
export interface RawStream {
  readonly service: LogicalReplicationService
  readonly messages: Array<{ lsn: string; message: Pgoutput.Message }>
  readonly keepalives: Array<{ lsn: string; timestamp: number; shouldRespond: boolean; receivedAt: number }>
  readonly errors: Error[]
  /** Settles when the stream ends (it never rejects: the error is in `errors`). */
  readonly ended: Promise<void>
}

export async function startRawStream(
  db: TestDatabase,
  config: ConstructorParameters<typeof LogicalReplicationService>[1],
  onData: (lsn: string, message: Pgoutput.Message, stream: RawStream) => Promise<void> | void = () => {},
): Promise<RawStream> {
  const service = new LogicalReplicationService({ connectionString: db.url }, config)
  const stream: Omit<RawStream, 'ended'> = { service, messages: [], keepalives: [], errors: [] }
  service.on('error', (err: Error) => { stream.errors.push(err) })
  service.on('heartbeat', (lsn: string, timestamp: number, shouldRespond: boolean) => {
    stream.keepalives.push({ lsn, timestamp, shouldRespond, receivedAt: Date.now() })
  })
  const started = new Promise<void>((resolve) => service.once('start', () => resolve()))
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [db.publication], messages: true })
  const ended = service.subscribe(plugin, db.slot, '0/0').then(() => undefined, (err: Error) => { stream.errors.push(err) })
  const full: RawStream = { ...stream, ended }
  service.on('data', async (lsn: string, message: Pgoutput.Message) => {
    full.messages.push({ lsn, message })
    await onData(lsn, message, full)
  })
  await Promise.race([started, ended.then(() => { throw new Error(`stream ended before it started: ${stream.errors[0]?.message}`) })])
  return full
}

export function commitsOf(stream: RawStream): Pgoutput.MessageCommit[] {
  return stream.messages.flatMap(({ message }) => (message.tag === 'commit' ? [message] : []))
}

/** The real store, recording every tag it was asked to invalidate (a decorator, not a fake). */
export function makeRecordingStore(inner: CacheStore): { store: CacheStore; purged: Set<string> } {
  const purged = new Set<string>()
  const store: CacheStore = {
    ...inner,
    invalidateTags: async (tags) => {
      const count = await inner.invalidateTags(tags)
      for (const tag of tags) purged.add(tag)
      return count
    },
  }
  return { store, purged }
}

/** Inserts rows `from..to` into `t (id, client_id)`, one transaction each, over `writers` connections. */
export async function insertRows(db: TestDatabase, from: number, to: number, writers = 4): Promise<void> {
  const clients = await Promise.all(Array.from({ length: writers }, async () => {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    return client
  }))
  let next = from
  try {
    await Promise.all(clients.map(async (client) => {
      for (let id = next++; id <= to; id = next++) await client.query('INSERT INTO t VALUES ($1, $1)', [id])
    }))
  } finally {
    await Promise.all(clients.map((c) => c.end()))
  }
}

export function missingTags(purged: ReadonlySet<string>, from: number, to: number): number[] {
  const missing: number[] = []
  for (let id = from; id <= to; id++) if (!purged.has(`t:${id}`)) missing.push(id)
  return missing
}
