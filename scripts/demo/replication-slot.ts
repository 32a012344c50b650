import pg from 'pg'

/**
 * The demo's replication slot on a database it does not own (DATABASE_URL). An abandoned slot
 * makes Postgres keep every WAL segment from then on, so a slot the demo created is dropped
 * on exit (https://www.postgresql.org/docs/15/logicaldecoding-explanation.html#LOGICALDECODING-REPLICATION-SLOTS).
 */
export async function hasReplicationSlot(databaseUrl: string, slot: string): Promise<boolean> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])
    return result.rowCount === 1
  })
}

/** Drops the slot if no one is streaming from it; returns whether it was dropped. */
export async function dropIdleReplicationSlot(databaseUrl: string, slot: string): Promise<boolean> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot],
    )
    return result.rowCount === 1
  })
}

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}
