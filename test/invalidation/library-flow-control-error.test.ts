import t from 'tap'
import type { Pgoutput } from 'pg-logical-replication'
import { createTestDatabase, startRawStream, waitFor } from '../helpers/replication.js'

/**
 * Pins: with flow control, a data handler that throws makes the library emit 'error' and
 * then hand the NEXT message to the handler as if nothing happened. A failed purge must
 * therefore latch the connection (replication-session.ts ignores every later message and
 * reconnects), or a later commit would be acknowledged past the failed one.
 */
const db = await createTestDatabase(t, 'flowerr')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY)')
await db.sql.query(`CREATE PUBLICATION ${db.publication} FOR TABLE t`)
await db.sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [db.slot])

t.test('after a handler throws, the following messages are still delivered', async (t) => {
  const handled: string[] = []
  const stream = await startRawStream(db, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    async (_lsn: string, message: Pgoutput.Message) => {
      if (message.tag === 'insert' && message.new.id === 1) throw new Error('purge failed')
      if (message.tag === 'insert') handled.push(String(message.new.id))
    })
  t.teardown(() => stream.service.destroy())
  await db.sql.query('INSERT INTO t VALUES (1)')
  await db.sql.query('INSERT INTO t VALUES (2)')
  await waitFor(() => handled.includes('2'), { what: 'the message after the failure' })
  t.match(stream.errors.map((e) => e.message), ['purge failed'], "the failure only surfaced as an 'error' event")
  t.equal(stream.service.isStop(), false, 'and the stream kept going')
})
