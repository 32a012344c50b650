import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener, type ListenerState } from '../../src/invalidation/replication-listener.js'
import {
  createTestDatabase, insertRows, makeConfig, makeRecordingStore, makeTestStore, missingTags, nextEvent, testLog, waitFor,
} from '../helpers/replication.js'

/**
 * Several replicas on one slot: the slot admits one consumer (SQLSTATE 55006 for the
 * others), so one is leader and the others stand by; when the leader stops or its
 * connection dies, a standby takes over within seconds and no write is lost.
 */
const db = await createTestDatabase(t, 'elect')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const { store, purged } = makeRecordingStore(await makeTestStore(t, 'elect'))
const config = makeConfig(db, { t: ['t:{id}'] })

function makeReplica(): ReplicationListener {
  const replica = new ReplicationListener({ config, store, clock: systemClock, log: testLog(), standbyRetryMs: 200, reconnectBackoff: { baseMs: 50, maxMs: 500 } })
  t.teardown(() => replica.stop())
  return replica
}

async function reach(replica: ReplicationListener, state: ListenerState): Promise<void> {
  if (replica.status().state === state) return
  await nextEvent(replica, 'state', (s) => s === state, 15_000)
}

const a = makeReplica()
const b = makeReplica()

t.test('one leader, one standby', async (t) => {
  a.start()
  await reach(a, 'leader')
  b.start()
  await reach(b, 'standby')
  t.equal(a.status().state, 'leader')
  await insertRows(db, 1, 100)
  await waitFor(() => missingTags(purged, 1, 100).length === 0, { what: 'the leader to apply the first writes' })
  t.equal(b.status().transactionsApplied, 0, 'the standby applied nothing')
})

t.test('the leader stops during writes: the standby takes over, nothing lost', async (t) => {
  const writes = insertRows(db, 101, 400)
  await waitFor(() => purged.size >= 150, { what: 'some writes applied by the first leader' })
  const takeover = reach(b, 'leader')
  await a.stop()
  const stoppedAt = Date.now()
  await takeover
  t.ok(Date.now() - stoppedAt < 5000, `took over in ${Date.now() - stoppedAt} ms`)
  await writes
  await waitFor(() => missingTags(purged, 1, 400).length === 0, { timeoutMs: 30_000, what: 'every write purged' })
  t.same(missingTags(purged, 1, 400), [])
  t.ok(b.status().transactionsApplied > 0)
})

t.test('the leader connection is killed: one of the replicas leads again, nothing lost', async (t) => {
  const c = makeReplica()
  c.start()
  await reach(c, 'standby')
  const writes = insertRows(db, 401, 700)
  await waitFor(() => purged.size >= 450, { what: 'writes flowing' })
  await db.sql.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [db.slot])
  await writes
  await waitFor(() => missingTags(purged, 1, 700).length === 0, { timeoutMs: 30_000, what: 'every write purged' })
  t.same(missingTags(purged, 1, 700), [])
  const leaders = await waitFor(() => {
    const states = [b.status().state, c.status().state]
    return states.includes('leader') && states
  }, { what: 'a leader' })
  t.same([...leaders].sort(), ['leader', 'standby'], 'exactly one leader')
})
