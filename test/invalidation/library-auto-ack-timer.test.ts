import t from 'tap'
import { parseLsn } from '../../src/invalidation/lsn.js'
import { commitsOf, confirmedFlushLsn, createTestDatabase, startRawStream, waitFor } from '../helpers/replication.js'

/**
 * Pins: with `acknowledge: { auto: false }` and the default timeoutSeconds (10), the
 * library still confirms on a timer the last position it RECEIVED, although the
 * application never acknowledged anything: a commit that was never processed is
 * confirmed and would not come back after a crash. The timer starts with "last status
 * update at 0", so the first tick, a second after the stream starts, already does it.
 * The listener sets timeoutSeconds: 0.
 */
const db = await createTestDatabase(t, 'autoack')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY)')
await db.sql.query(`CREATE PUBLICATION ${db.publication} FOR TABLE t`)
await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [db.slot])

t.test('auto: false with the default timer confirms a commit nobody acknowledged', async (t) => {
  const stream = await startRawStream(db, { acknowledge: { auto: false, timeoutSeconds: 10 }, flowControl: { enabled: true } })
  t.teardown(() => stream.service.destroy())
  await db.sql.query('INSERT INTO t VALUES (1)')
  const [commit] = await waitFor(() => { const c = commitsOf(stream); return c.length > 0 && c }, { what: 'the commit' })
  const commitEnd = parseLsn(commit?.commitEndLsn ?? '0/0')
  const before = await confirmedFlushLsn(db.sql, db.slot)
  t.ok(before !== null && parseLsn(before) < commitEnd, 'not confirmed at first')
  const confirmed = await waitFor(async () => {
    const lsn = await confirmedFlushLsn(db.sql, db.slot)
    return lsn !== null && parseLsn(lsn) >= commitEnd && lsn
  }, { timeoutMs: 25_000, intervalMs: 250, what: 'the timer to confirm the unacknowledged commit' })
  t.ok(parseLsn(confirmed) >= commitEnd, `confirmed ${confirmed} without any acknowledge() call`)
})
