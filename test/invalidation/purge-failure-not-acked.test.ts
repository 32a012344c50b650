import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { parseLsn } from '../../src/invalidation/lsn.js'
import { ReplicationListener, type AppliedTransaction } from '../../src/invalidation/replication-listener.js'
import type { CacheStore } from '../../src/store/store.js'
import { confirmedFlushLsn, createTestDatabase, makeConfig, makeTestStore, nextEvent, stampsAlive, testLog, waitFor } from '../helpers/replication.js'

/**
 * A commit is acknowledged only after its purge is confirmed: while the store fails, the
 * slot's confirmed_flush_lsn stays before the commit (so a crash now would replay it),
 * whether the listener retries in place or gives up the connection and replays.
 */
const db = await createTestDatabase(t, 'nack')
await db.sql.query('CREATE TABLE t (id int PRIMARY KEY, client_id int)')
const realStore = await makeTestStore(t, 'nack')

/** The real store, except that invalidateTags throws while `failing` is set. */
function makeFlakyStore(inner: CacheStore) {
  const control = { failing: false, failedCalls: 0 }
  const store: CacheStore = {
    ...inner,
    invalidateTags: async (tags) => {
      if (control.failing) { control.failedCalls += 1; throw new Error('redis is down') }
      return inner.invalidateTags(tags)
    },
  }
  return { store, control }
}

async function confirmed(): Promise<bigint> {
  return parseLsn((await confirmedFlushLsn(db.sql, db.slot)) ?? '0/0')
}

async function startListener(store: CacheStore, purgeAttempts: number): Promise<ReplicationListener> {
  const config = makeConfig(db, { t: ['t:{client_id}'] })
  const listener = new ReplicationListener({ config, store, clock: systemClock, log: testLog(), purgeAttempts, purgeRetryMs: 20, reconnectBackoff: { baseMs: 50, maxMs: 200 } })
  const leader = nextEvent(listener, 'state', (state) => state === 'leader')
  listener.start()
  await leader
  return listener
}

t.test('retried in place: not confirmed until the purge succeeds', async (t) => {
  const { store, control } = makeFlakyStore(realStore)
  const listener = await startListener(store, 1000)
  t.teardown(() => listener.stop())
  await realStore.acquireStamps(['t:1'])
  control.failing = true
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes('public.t'))
  await db.sql.query('INSERT INTO t VALUES (1, 1)')
  await waitFor(() => control.failedCalls >= 3, { what: 'three failed purges' })
  const whileFailing = [await confirmed(), await confirmed()]
  t.same(await stampsAlive(realStore, ['t:1']), { 't:1': true }, 'not purged yet')
  control.failing = false
  const [transaction] = await applied
  const commitEnd = parseLsn(transaction.lsn)
  t.ok(whileFailing.every((lsn) => lsn < commitEnd), 'confirmed_flush_lsn stayed before the commit while failing')
  t.same(await stampsAlive(realStore, ['t:1']), { 't:1': false })
  await waitFor(async () => (await confirmed()) >= commitEnd, { what: 'the acknowledgement after the purge' })
})

t.test('attempts exhausted: the connection is dropped and the commit replayed, still unconfirmed until applied', async (t) => {
  const { store, control } = makeFlakyStore(realStore)
  const listener = await startListener(store, 2)
  t.teardown(() => listener.stop())
  await realStore.acquireStamps(['t:2'])
  control.failing = true
  const reconnected = nextEvent(listener, 'state', (state) => state === 'disconnected')
  const applied = nextEvent<[AppliedTransaction]>(listener, 'applied', (a) => a.tables.includes('public.t'))
  await db.sql.query('INSERT INTO t VALUES (2, 2)')
  await reconnected
  await waitFor(() => control.failedCalls >= 6, { what: 'failures across reconnects' })
  const whileFailing = await confirmed()
  t.match(listener.status().lastError, /purge of 1 tags failed/)
  control.failing = false
  const [transaction] = await applied
  t.ok(whileFailing < parseLsn(transaction.lsn), 'not confirmed across the reconnects')
  t.same(await stampsAlive(realStore, ['t:2']), { 't:2': false }, 'applied after the replay')
})
