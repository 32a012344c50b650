import t from 'tap'
import { createTestDatabase, startRawStream } from '../helpers/replication.js'

/**
 * Pins: LogicalReplicationService keeps its pg Client in the private field `_client`, whose
 * `processID` (from BackendKeyData) is the walsender streaming to us. The session records
 * it so that an abandoned connection's walsender can be ended (replication-session.ts).
 */
const db = await createTestDatabase(t, 'clientpid')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY)')
await db.sql.query(`CREATE PUBLICATION ${db.publication} FOR TABLE t`)
await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [db.slot])

t.test('_client.processID is the active_pid of the slot', async (t) => {
  const stream = await startRawStream(db, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } })
  t.teardown(() => stream.service.destroy())
  const pid = (stream.service as unknown as { _client?: { processID?: unknown } })._client?.processID
  const slot = await db.sql.query<{ active_pid: number }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [db.slot])
  t.type(pid, 'number')
  t.equal(pid, slot.rows[0]?.active_pid)
})
