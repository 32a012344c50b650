import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener } from '../../src/invalidation/replication-listener.js'
import { createTestDatabase, makeConfig, makeTestStore, nextEvent, stampsAlive, testLog } from '../helpers/replication.js'

/**
 * A slot that has to be created (or recreated) starts at "now": changes before it were
 * never streamed, so every entry cached before must go. The everything tag `*` is carried
 * by every entry; its stamp is deleted before the listener streams. A slot that survived
 * means continuity: nothing is flushed.
 */
const db = await createTestDatabase(t, 'flush')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const store = await makeTestStore(t, 'flush')
const config = makeConfig(db, { t: ['t:{client_id}'] })

async function runOnce(): Promise<void> {
  const listener = new ReplicationListener({ config, store, clock: systemClock, log: testLog() })
  const leader = nextEvent(listener, 'state', (state) => state === 'leader')
  listener.start()
  await leader
  await listener.stop()
}

t.test('a new slot while the store holds a watermark flushes everything', async (t) => {
  await store.writeWatermark(Date.now() - 60_000)
  await store.acquireStamps(['*', 't:1'])
  await runOnce()
  t.same(await stampsAlive(store, ['*', 't:1']), { '*': false, 't:1': true }, 'only the everything tag: O(1), yet every entry carries it')
})

t.test('restarting on the same slot keeps the cache', async (t) => {
  await store.acquireStamps(['*'])
  await runOnce()
  t.same(await stampsAlive(store, ['*']), { '*': true })
})

t.test('a slot dropped while the proxy was down is recreated and the cache flushed', async (t) => {
  await db.sql.query('SELECT pg_drop_replication_slot($1)', [db.slot])
  await store.acquireStamps(['*'])
  await runOnce()
  t.same(await stampsAlive(store, ['*']), { '*': false })
})
