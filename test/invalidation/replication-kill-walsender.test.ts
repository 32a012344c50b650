import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener } from '../../src/invalidation/replication-listener.js'
import {
  createTestDatabase, insertRows, makeConfig, makeRecordingStore, makeTestStore, missingTags, nextEvent, testLog, waitFor,
} from '../helpers/replication.js'

/**
 * The replication connection is killed (pg_terminate_backend of the walsender) twice in
 * the middle of a burst of single-row transactions: the listener reconnects, resumes from
 * the slot, and every write of the burst is purged. None lost.
 */
const db = await createTestDatabase(t, 'kill')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const { store, purged } = makeRecordingStore(await makeTestStore(t, 'kill'))
const listener = new ReplicationListener({
  config: makeConfig(db, { t: ['t:{id}'] }), store, clock: systemClock, log: testLog(), reconnectBackoff: { baseMs: 50, maxMs: 500 },
})
t.teardown(() => listener.stop())
const states: string[] = []
listener.on('state', (state) => states.push(state))
const leader = nextEvent(listener, 'state', (state) => state === 'leader')
listener.start()
await leader

async function killWalsender(): Promise<void> {
  const killed = await db.sql.query('SELECT pg_terminate_backend(active_pid) AS ok FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [db.slot])
  if (killed.rows[0]?.ok !== true) throw new Error('no walsender to kill')
}

t.test('every write of a burst survives two killed connections', async (t) => {
  const N = 600
  const burst = insertRows(db, 1, N)
  await waitFor(() => purged.size >= 100, { what: '100 purges before the first kill' })
  const leadsAgain = nextEvent(listener, 'state', (state) => state === 'leader')
  await killWalsender()
  await leadsAgain
  await waitFor(() => purged.size >= 300, { what: '300 purges before the second kill' })
  await killWalsender()
  await burst
  await waitFor(() => missingTags(purged, 1, N).length === 0, { timeoutMs: 30_000, what: `all ${N} writes purged` })
  t.same(missingTags(purged, 1, N), [], `${N} of ${N} writes applied`)
  t.ok(states.filter((s) => s === 'disconnected').length >= 2, `reconnected after each kill (${states.join(' > ')})`)
  t.equal(listener.status().state, 'leader')
})
