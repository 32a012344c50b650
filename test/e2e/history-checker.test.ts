import t from 'tap'
import { eventually } from '../helpers/proxy.js'
import { createCounterDatabase, startCounterOrigin, COUNTER_PATH } from '../helpers/counter-world.js'
import { startCounterProxy } from '../helpers/counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize, pause, type ReadRecord } from '../helpers/mixed-load.js'
import { makeToken } from '../helpers/tokens.js'

/**
 * Bounded staleness, checked on a real history (README guarantee 3): three writers bump the
 * version of rows of several tenants with SQL for about five seconds while four readers read
 * through the proxy without pause. Each commit's version and the time its commit returned
 * are recorded; a read that starts more than the freshness bound after a commit of version v
 * must see a version >= v, whether it was a HIT, a MISS or a BYPASS.
 */
const BOUND_MS = 2000

t.test('the checker itself reports a read older than a commit beyond the bound', async (t) => {
  const read = (startedAt: number, version: number): ReadRecord => ({ tenant: 1, startedAt, endedAt: startedAt + 1, kind: 'ok', status: 200, xcache: 'HIT', cacheStatus: null, version, target: '' })
  const writes = [{ tenant: 1, version: 1, committedAt: 1000 }, { tenant: 1, version: 2, committedAt: 2000 }, { tenant: 2, version: 9, committedAt: 0 }]
  t.same(findStaleReads([read(2500, 1), read(3999, 1)], writes, BOUND_MS), [], 'within the bound, an older version is allowed')
  const stale = findStaleReads([read(4001, 1), read(4001, 2), read(9000, 3)], writes, BOUND_MS)
  t.equal(stale.length, 1, 'beyond the bound, only the older version is reported')
  t.equal(stale[0]?.required, 2)
})

t.test('no read that starts more than the bound after a commit sees an older version', async (t) => {
  const db = await createCounterDatabase(t, 'history', { tenants: 6 })
  const origin = await startCounterOrigin(t, db)
  const { url } = await startCounterProxy(t, db, origin, { freshnessBound: `${BOUND_MS}ms`, heartbeatInterval: '200ms' })
  const probe = { headers: { authorization: `Bearer ${makeToken({ tenant: 1, sub: 'probe' })}` } }
  await eventually(async () => (await fetch(url + COUNTER_PATH, probe)).headers.get('x-cache') !== 'BYPASS', 20_000, 'the first watermark')

  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 4, writers: 3, writeIntervalMs: 25 })
  await pause(5000) // the length of the run, not a synchronisation
  const history = await load.stop()

  const committed = await db.committedWrites()
  const writes = committedWrites(history, committed)
  const stale = findStaleReads(history.reads, writes, BOUND_MS)
  const summary = summarize(history)
  t.comment(`history: ${describeSummary(summary)}; committed writes=${committed.size}; stale reads beyond ${BOUND_MS} ms=${stale.length}`)
  const withinBound = findStaleReads(history.reads, writes, 0)
  t.comment(`reads that saw an older version than a commit returned before they started (allowed within the bound): ${withinBound.length}, the oldest ${Math.max(0, ...withinBound.map((s) => s.commitAgeMs))} ms after the commit`)
  for (const s of stale.slice(0, 5)) t.comment(`stale: tenant ${s.read.tenant} saw v${String(s.read.version)} (${s.read.xcache}) ${s.commitAgeMs} ms after v${s.required} committed`)

  t.ok(summary.reads > 100, 'the readers ran')
  t.ok(committed.size > 50, 'the writers ran')
  t.equal(committed.size, history.writes.filter((w) => w.error === undefined).length, 'every write the client saw commit is in the database')
  t.ok(summary.hits > 0, 'some reads were hits, so a stale entry could have been served')
  t.equal(summary.byKind['proxy-5xx'], 0, 'no 5xx made by the proxy')
  t.equal(stale.length, 0, 'no stale read beyond the freshness bound')
})
