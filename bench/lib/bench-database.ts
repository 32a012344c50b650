import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { setUpHelpdeskDatabase } from '../../examples/helpdesk-api/setup-database.js'
import type { SeedOptions } from '../../examples/helpdesk-api/seed-data.js'
import { sleep } from './wait.js'

/**
 * A database of its own for one benchmark run (created, seeded, dropped with its replication
 * slot), so the run never touches the demo's or the tests' data on a shared Postgres.
 */
export interface BenchDatabase {
  readonly name: string
  readonly url: string
  /** Replication slot and publication names of this run (slot names are cluster-wide). */
  readonly slot: string
  readonly publication: string
  readonly pool: pg.Pool
  drop(): Promise<void>
}

/** Many tenants and people, so the realistic mix and the latency probes have room. */
export const BENCH_SEED: Partial<SeedOptions> = { tenants: 20, peoplePerTenant: 100, ticketsPerTenant: 1000 }

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `ccp_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: 40 })
  pool.on('error', () => {}) // connections are terminated on purpose at drop
  return {
    name, url: url.toString(), slot: name, publication: name, pool,
    drop: async () => {
      await pool.end().catch(() => {})
      await dropDatabase(adminUrl, name)
    },
  }
}

export async function seedBenchDatabase(db: BenchDatabase): Promise<void> {
  await setUpHelpdeskDatabase(db.url, BENCH_SEED)
  await db.pool.query('ANALYZE')
}

/** Slots block DROP DATABASE while a walsender holds them: end those first, then drop. */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    for (let attempt = 0; ; attempt++) {
      await admin.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL', [name])
      try {
        await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [name])
        break
      } catch (err) {
        if (attempt > 100) throw err
        await sleep(100)
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}
