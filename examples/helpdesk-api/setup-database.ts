import pg from 'pg'
import { applyHelpdeskSchema } from './schema.js'
import { seedHelpdeskDatabase, type SeedOutcome } from './seed.js'
import type { SeedOptions } from './seed-data.js'

/** Creates the schema and loads the seed if the database is empty. Idempotent. */
export async function setUpHelpdeskDatabase(databaseUrl: string, seed: Partial<SeedOptions> = {}): Promise<SeedOutcome> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  try {
    await applyHelpdeskSchema(pool)
    return await seedHelpdeskDatabase(pool, seed)
  } finally {
    await pool.end()
  }
}
