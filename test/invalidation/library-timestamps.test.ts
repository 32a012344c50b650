import t from 'tap'
import { decodePgoutput } from '../../src/invalidation/decode-pgoutput.js'
import { commitsOf, createTestDatabase, startRawStream, waitFor } from '../helpers/replication.js'

/**
 * Pins: keepalive timestamps from the library are 7 days early (it subtracts the epoch
 * 946080000000 ms instead of 946684800000 ms, 2000-01-01), so lag is never computed from
 * them; commit timestamps (read by another code path) are right, and decode-pgoutput
 * uses them for the commit-to-purge latency. Postgres and the tests share one host clock.
 */
const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000
const db = await createTestDatabase(t, 'stamps')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY)')
await db.sql.query(`CREATE PUBLICATION ${db.publication} FOR TABLE t`)
await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [db.slot])
const stream = await startRawStream(db, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } })
t.teardown(() => stream.service.destroy())

t.test('keepalive timestamps are 7 days behind the server clock', async (t) => {
  await stream.service.acknowledge('0/1', true) // ping: the server answers with a keepalive
  const keepalive = await waitFor(() => stream.keepalives[0], { what: 'a keepalive' })
  const offset = keepalive.receivedAt - keepalive.timestamp
  t.ok(Math.abs(offset - SEVEN_DAYS_MS) < 5000, `offset ${offset} ms is 7 days (give or take 5 s)`)
})

t.test('commit timestamps decode to the real time', async (t) => {
  const before = Date.now()
  await db.sql.query('INSERT INTO t VALUES (1)')
  const [commit] = await waitFor(() => { const c = commitsOf(stream); return c.length > 0 && c }, { what: 'the commit' })
  if (commit === undefined) throw new Error('unreachable')
  t.type(commit.commitTime, 'bigint', 'microseconds since the Unix epoch, as a bigint')
  const decoded = decodePgoutput(commit)
  if (decoded.kind !== 'commit') throw new Error('not a commit')
  t.ok(decoded.commitTimeMs >= before - 1000 && decoded.commitTimeMs <= Date.now() + 1000, `commit at ${decoded.commitTimeMs}, test ran from ${before}`)
})
