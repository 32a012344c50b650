import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { ReplicationListener, type AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import { DATABASE_URL } from '../helpers/env.js'
import { createTestDatabase, makeConfig, makeTestStore, nextEvent, stampsAlive, testLog } from '../helpers/replication.js'
import { startTcpFreezer } from '../helpers/tcp-freezer.js'

/**
 * The network goes silent under an established replication connection (no RST, no FIN).
 * The watchdog notices the silence, abandons the connection, ends the walsender the
 * server still keeps for it (or the slot would stay busy for wal_sender_timeout), and
 * reconnects; writes made meanwhile are applied.
 */
const db = await createTestDatabase(t, 'watchdog')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const store = await makeTestStore(t, 'watchdog')
const pgUrl = new URL(DATABASE_URL)
const freezer = await startTcpFreezer({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) })
t.teardown(() => freezer.close())
const viaFreezer = new URL(db.url)
viaFreezer.hostname = '127.0.0.1'
viaFreezer.port = String(freezer.port)
const config = { ...makeConfig(db, { t: ['t:{client_id}'] }), database: viaFreezer.toString() }
const listener = new ReplicationListener({
  config, store, clock: systemClock, log: testLog(), watchdogMs: 1500, queryTimeoutMs: 2000, reconnectBackoff: { baseMs: 50, maxMs: 200 },
})
t.teardown(() => listener.stop())
const leader = nextEvent(listener, 'state', (state) => state === 'leader')
listener.start()
await leader

t.test('a silent connection is abandoned and replaced; writes made meanwhile are applied', async (t) => {
  await store.acquireStamps(['t:1'])
  await nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.heartbeatMs !== undefined) // fully running
  const disconnected = nextEvent(listener, 'state', (state) => state === 'disconnected')
  freezer.freeze()
  await db.sql.query('INSERT INTO t VALUES (1, 1)')
  await disconnected
  t.match(listener.status().lastError, /no replication traffic for \d+ ms/)
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes('public.t'), 15_000)
  await nextEvent(listener, 'state', (state) => state === 'leader', 15_000)
  await applied
  t.same(await stampsAlive(store, ['t:1']), { 't:1': false })
})
