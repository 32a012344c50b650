import type { Test } from 'tap'
import type { CounterDatabase, CounterOrigin } from './counter-world.js'
import { startCounterProxy } from './counter-proxy.js'
import { committedWrites, describeSummary, findStaleReads, startLoad, summarize, type History, type ReadKind, type ReadRecord } from './mixed-load.js'
import { waitFor } from './replication.js'
import { makeStampLedger, trackAppliedWrites, type StampLedger } from './stamp-ledger.js'

/**
 * The verdict of one chaos run, the same for every fault: 5xx made by the proxy (none
 * allowed; the upstream's own and, where the fault is the upstream, the proxy's 502/504 for
 * it are counted apart), writes applied against writes committed (by stamp where the store
 * kept them, by distinct applied transaction where the proxy runs in this process), stale
 * reads beyond the freshness bound, and the recovery times, in t.comment.
 */
export interface RunCheck {
  readonly db: CounterDatabase
  readonly history: History
  readonly boundMs: number
  readonly ledger?: StampLedger
  readonly applied?: Set<string>
  /** Read kinds allowed besides 'ok' (e.g. 'upstream-unavailable' when the upstream is the fault). */
  readonly allowed?: readonly ReadKind[]
  readonly recovery?: Record<string, number | undefined>
}

/**
 * The setup every replication chaos run shares: the counter proxy in front of `origin`, a
 * record of the writes it applies (by transaction and by stamp), the first watermark within
 * the bound, then the steady mixed load (3 readers, 2 writers every 10 ms).
 */
export async function startLoadedProxy(t: Test, db: CounterDatabase, origin: CounterOrigin, boundMs: number) {
  const { proxy, url, keyPrefix } = await startCounterProxy(t, db, origin, { freshnessBound: `${boundMs}ms` })
  const listener = proxy.listener as NonNullable<typeof proxy.listener>
  const applied = trackAppliedWrites(listener)
  const ledger = await makeStampLedger(t, keyPrefix)
  await waitFor(async () => ((await proxy.store.readWatermark()) ?? 0) > Date.now() - boundMs, { timeoutMs: 20_000, what: 'the first watermark' })
  const load = startLoad({ targets: () => [url], pool: db.pool, tenants: db.tenants, readers: 3, writers: 2, writeIntervalMs: 10, ledger })
  return { proxy, listener, applied, ledger, load }
}

export async function checkRun(t: Test, check: RunCheck): Promise<void> {
  const committed = await check.db.committedWrites()
  const summary = summarize(check.history)
  const recovery = Object.entries(check.recovery ?? {}).map(([what, ms]) => `${what} ${ms === undefined ? 'never' : `${ms} ms`}`).join(', ')
  t.comment(`${describeSummary(summary)}; committed ${committed.size}${recovery ? `; recovery: ${recovery}` : ''}`)
  t.ok(summary.reads > 0 && committed.size > 0, 'the load ran')
  t.equal(summary.byKind['proxy-5xx'], 0, `no 5xx made by the proxy${summary.byKind['proxy-5xx'] ? `: ${sample(check.history.reads, 'proxy-5xx')}` : ''}`)
  for (const kind of ['upstream-unavailable', 'other-status'] as const) {
    if (!check.allowed?.includes(kind)) t.equal(summary.byKind[kind], 0, `no ${kind} answers${summary.byKind[kind] ? `: ${sample(check.history.reads, kind)}` : ''}`)
  }
  if (check.ledger) {
    const ids = check.history.writes.filter((w) => w.ledgered && committed.has(w.id)).map((w) => w.id)
    const ledger = check.ledger
    const left = await waitFor(async () => { const l = await ledger.unapplied(ids); return l.length === 0 ? l : false }, { timeoutMs: 30_000, what: 'every ledgered write applied' })
      .catch(() => ledger.unapplied(ids))
    t.same(left, [], `writes applied by stamp: ${ids.length - left.length} of ${ids.length} ledgered (of ${committed.size} committed)`)
  }
  if (check.applied) {
    const applied = check.applied
    await waitFor(() => applied.size >= committed.size || undefined, { timeoutMs: 30_000, what: 'every committed write applied' }).catch(() => {})
    t.equal(applied.size, committed.size, `writes applied by transaction: ${applied.size} of ${committed.size} committed`)
  }
  const stale = findStaleReads(check.history.reads, committedWrites(check.history, committed), check.boundMs)
  t.equal(stale.length, 0, `no stale read beyond ${check.boundMs} ms${stale.length ? `: e.g. tenant ${stale[0]?.read.tenant} saw v${stale[0]?.read.version} (${stale[0]?.read.xcache}) ${stale[0]?.commitAgeMs} ms after v${stale[0]?.required}` : ''}`)
}

function sample(reads: readonly ReadRecord[], kind: ReadKind): string {
  return reads.filter((r) => r.kind === kind).slice(0, 3).map((r) => `${r.status} ${r.detail ?? ''}`.slice(0, 160)).join(' | ')
}

/** The first read that started after `at` and satisfies `match`. */
export function firstReadAfter(history: History, at: number, match: (read: ReadRecord) => boolean): ReadRecord | undefined {
  return history.reads.find((r) => r.startedAt >= at && match(r))
}

/** Waits for a read after `at` matching `match`; returns ms from `at` to its start, or undefined at the deadline. */
export async function msUntilRead(history: History, at: number, match: (read: ReadRecord) => boolean, timeoutMs = 60_000): Promise<number | undefined> {
  const read = await waitFor(() => firstReadAfter(history, at, match), { timeoutMs, what: 'a read after the fault' }).catch(() => undefined)
  return read && read.startedAt - at
}

export async function waitForWritesAfter(history: History, at: number, count: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => history.writes.filter((w) => w.startedAt >= at && w.error === undefined).length >= count, { timeoutMs, what: `${count} writes after the fault` })
}

export async function waitForReadsAfter(history: History, at: number, count: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => history.reads.filter((r) => r.startedAt >= at).length >= count, { timeoutMs, what: `${count} reads after the fault` })
}
