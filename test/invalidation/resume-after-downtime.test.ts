import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener } from '../../src/invalidation/replication-listener.js'
import { createTestDatabase, makeConfig, makeTestStore, nextEvent, stampsAlive, testLog, waitFor } from '../helpers/replication.js'

/** Writes made while no proxy runs are applied when one comes back: the slot kept them. */
const db = await createTestDatabase(t, 'resume')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const store = await makeTestStore(t, 'resume')
const config = makeConfig(db, { t: ['t:{client_id}'] })

t.test('changes committed during downtime invalidate after restart', async (t) => {
  const first = new ReplicationListener({ config, store, clock: systemClock, log: testLog() })
  const leader = nextEvent(first, 'state', (state) => state === 'leader')
  first.start()
  await leader
  await first.stop()

  await store.acquireStamps(['t:1', 't:2', 't:3'])
  await db.sql.query('INSERT INTO t VALUES (1, 1), (2, 2)')
  t.same(await stampsAlive(store, ['t:1', 't:2']), { 't:1': true, 't:2': true }, 'nobody is listening yet')

  const second = new ReplicationListener({ config, store, clock: systemClock, log: testLog() })
  t.teardown(() => second.stop())
  second.start()
  await waitFor(async () => { const alive = await stampsAlive(store, ['t:1', 't:2']); return !alive['t:1'] && !alive['t:2'] }, { what: 'the replayed purge' })
  t.same(await stampsAlive(store, ['t:1', 't:2', 't:3']), { 't:1': false, 't:2': false, 't:3': true })
})
