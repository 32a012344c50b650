import pg from 'pg'
import t from 'tap'
import { formatLsn, parseLsn } from '../../src/invalidation/lsn.js'
import { libraryAckArgument } from '../../src/invalidation/replication-ack.js'
import { commitsOf, confirmedFlushLsn, createTestDatabase, startRawStream, waitFor } from '../helpers/replication.js'

/**
 * Pins: pg-logical-replication's acknowledge(lsn) confirms lsn + 1. Confirming the end of
 * a commit plus one skips, after a reconnect, a transaction whose commit record starts
 * exactly there. replication-ack.ts passes end - 1 instead.
 */
const db = await createTestDatabase(t, 'ackplus')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY)')
await db.sql.query(`CREATE PUBLICATION ${db.publication} FOR TABLE t`)
await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [db.slot])
const other = new pg.Client({ connectionString: db.url })
await other.connect()
t.teardown(() => other.end())

let nextMarker = 1000
const config = { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } }

/** Two transactions committed back to back: the second's commit record often starts where the first's ends. */
async function commitTwo(first: number): Promise<void> {
  await db.sql.query('BEGIN'); await db.sql.query('INSERT INTO t VALUES ($1)', [first])
  await other.query('BEGIN'); await other.query('INSERT INTO t VALUES ($1)', [first + 1])
  await db.sql.query('COMMIT'); await other.query('COMMIT')
}

/** Streams, acknowledges the first commit with `ackArgument(end)`, disconnects, streams again. */
async function ackFirstAndReconnect(ackArgument: (end: bigint) => string) {
  const stream = await startRawStream(db, config)
  const [first, second] = await waitFor(() => { const c = commitsOf(stream); return c.length >= 2 && c }, { what: 'two commits' })
  if (first === undefined || second === undefined) throw new Error('unreachable')
  const firstEnd = parseLsn(first.commitEndLsn ?? '0/0')
  await stream.service.acknowledge(ackArgument(firstEnd))
  const confirmed = await waitFor(async () => { const lsn = await confirmedFlushLsn(db.sql, db.slot); return lsn !== null && parseLsn(lsn) >= firstEnd && lsn }, { what: 'the ack' })
  await stream.service.destroy()
  const again = await startRawStream(db, config)
  // A marker committed after the reconnect: once it arrives, every replayed commit came before it.
  const marker = nextMarker++
  await db.sql.query('INSERT INTO t VALUES ($1)', [marker])
  await waitFor(() => again.messages.some(({ message }) => message.tag === 'insert' && message.new.id === marker), { what: 'the marker' })
  const secondStart = parseLsn(second.commitLsn ?? '0/0')
  const replayed = commitsOf(again).map((c) => parseLsn(c.commitLsn ?? '0/0')).filter((lsn) => lsn <= secondStart)
  await again.service.destroy()
  return { firstEnd, secondStart, confirmed: parseLsn(confirmed), replayed }
}

t.test('acknowledge(x) confirms x + 1, and that skips an adjacent commit on reconnect', async (t) => {
  await commitTwo(1)
  const run = await ackFirstAndReconnect((end) => formatLsn(end))
  t.equal(run.confirmed, run.firstEnd + 1n, 'the library confirms one past what it was given')
  if (run.secondStart === run.firstEnd) {
    t.same(run.replayed, [], 'the second transaction is never delivered again: lost')
  } else {
    t.comment('other WAL came between the two commits this time; the +1 pin above still holds')
  }
})

t.test('libraryAckArgument(end) confirms exactly end, and the adjacent commit is replayed', async (t) => {
  await commitTwo(11)
  const run = await ackFirstAndReconnect(libraryAckArgument)
  t.equal(run.confirmed, run.firstEnd)
  t.same(run.replayed, [run.secondStart], 'the unacknowledged commit comes again')
})
