import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { parseLsn } from '../../src/invalidation/lsn.js'
import { ReplicationListener, type AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import { confirmedFlushLsn, createTestDatabase, makeConfig, makeTestStore, nextEvent, testLog, waitFor } from '../helpers/replication.js'

/**
 * The leader writes its clock into the WAL every heartbeatIntervalMs; once that
 * transaction is applied the value becomes the store's watermark, which keeps advancing
 * and keeps the slot's confirmed position moving while the watched tables are idle.
 */
const db = await createTestDatabase(t, 'beat')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const store = await makeTestStore(t, 'beat')
const listener = new ReplicationListener({ config: makeConfig(db, { t: ['t:{client_id}'] }, { heartbeatIntervalMs: 100 }), store, clock: systemClock, log: testLog() })
t.teardown(() => listener.stop())
const initialWatermark = await store.readWatermark()
const startedAt = Date.now()
listener.start()

t.test('the watermark appears in the store and advances', async (t) => {
  t.equal(initialWatermark, null, 'unknown before the first heartbeat is applied')
  const first = await waitFor(() => store.readWatermark().then((w) => w ?? undefined), { what: 'a watermark' })
  t.ok(first >= startedAt && first <= Date.now(), 'a time of this run, from our clock')
  const later = await waitFor(() => store.readWatermark().then((w) => w !== null && w > first && w), { what: 'a later watermark' })
  t.ok(later > first)
  t.ok((listener.status().watermarkMs ?? 0) >= first)
})

t.test('heartbeat transactions purge nothing and name no table', async (t) => {
  const [beat] = await nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.heartbeatMs !== undefined)
  t.equal(beat.tagCount, 0)
  t.same(beat.tables, [])
})

t.test('the slot confirmed position moves while the watched tables are idle', async (t) => {
  const before = parseLsn((await confirmedFlushLsn(db.sql, db.slot)) ?? '0/0')
  const after = await waitFor(async () => {
    const lsn = parseLsn((await confirmedFlushLsn(db.sql, db.slot)) ?? '0/0')
    return lsn > before && lsn
  }, { what: 'the slot to advance' })
  t.ok(after > before)
})
