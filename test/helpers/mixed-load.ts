import type pg from 'pg'
import { COUNTER_PATH, WRITE_SQL } from './counter-world.js'
import type { StampLedger } from './stamp-ledger.js'
import { makeToken } from './tokens.js'

/**
 * A steady mixed load on the counter world: readers read through the proxy without pause,
 * writers bump versions with SQL at a paced rate (the pace is a rate, not synchronisation).
 * Everything that happened is recorded, for the history checker and the fault counters.
 */
export type ReadKind =
  | 'ok'
  /** A 5xx the upstream itself sent (it carries `x-origin`). */
  | 'upstream-5xx'
  /** A 502/504 the proxy made because the upstream was unreachable or too slow. */
  | 'upstream-unavailable'
  /** Any other 5xx: caused by the proxy. Never allowed. */
  | 'proxy-5xx'
  /** No HTTP answer at all (the proxy process is down). */
  | 'connection-error'
  | 'other-status'

export interface ReadRecord {
  readonly tenant: number
  readonly startedAt: number
  readonly endedAt: number
  readonly kind: ReadKind
  readonly status: number
  readonly xcache: string | null
  readonly cacheStatus: string | null
  /** The version in the body of a 200, else undefined. */
  readonly version: number | undefined
  readonly target: string
  readonly detail?: string
}

export interface WriteRecord {
  readonly id: number
  readonly tenant: number
  readonly startedAt: number
  /** When the commit returned to the client (at or after the commit), or when it failed. */
  readonly endedAt: number
  /** The committed version, when the commit returned; failed writes are resolved from the database. */
  readonly version: number | undefined
  readonly lsnBeforeCommit: string | undefined
  readonly ledgered: boolean
  readonly error?: string
}

export interface History {
  readonly reads: ReadRecord[]
  readonly writes: WriteRecord[]
}

export interface LoadOptions {
  /** Proxy base URLs to read from; asked before every read (a restarted proxy may move). */
  readonly targets: () => readonly string[]
  readonly pool: pg.Pool
  readonly tenants: readonly number[]
  readonly readers?: number
  readonly writers?: number
  readonly writeIntervalMs?: number
  /** Acquire a stamp for each write before it is made, to count applied writes one by one. */
  readonly ledger?: StampLedger
  /** Stops writing after this many writes (a burst); unlimited by default. */
  readonly maxWrites?: number
  readonly firstWriteId?: number
  readonly readTimeoutMs?: number
}

export interface RunningLoad {
  readonly history: History
  /** Resolves once every writer stopped (maxWrites reached or stop()). */
  readonly writersDone: Promise<void>
  stop(): Promise<History>
  stopWriters(): Promise<void>
}

export function startLoad(options: LoadOptions): RunningLoad {
  const history: History = { reads: [], writes: [] }
  const tokens = new Map(options.tenants.map((tenant) => [tenant, `Bearer ${makeToken({ tenant, sub: `reader-${tenant}` })}`]))
  let reading = true
  let writing = true
  let nextId = options.firstWriteId ?? 1
  let targetIndex = 0
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

  async function readOnce(): Promise<void> {
    const targets = options.targets()
    const target = targets[targetIndex++ % Math.max(1, targets.length)]
    const tenant = pick(options.tenants)
    const startedAt = Date.now()
    if (target === undefined) {
      history.reads.push({ tenant, startedAt, endedAt: startedAt, kind: 'connection-error', status: 0, xcache: null, cacheStatus: null, version: undefined, target: '', detail: 'no target' })
      await pause(20)
      return
    }
    try {
      const res = await fetch(target + COUNTER_PATH, { headers: { authorization: tokens.get(tenant) as string }, signal: AbortSignal.timeout(options.readTimeoutMs ?? 20_000) })
      const text = await res.text()
      history.reads.push(classify(tenant, startedAt, target, res, text))
    } catch (err) {
      history.reads.push({ tenant, startedAt, endedAt: Date.now(), kind: 'connection-error', status: 0, xcache: null, cacheStatus: null, version: undefined, target, detail: describe(err) })
      await pause(20) // the proxy is down: do not spin
    }
  }

  async function writeOnce(): Promise<void> {
    const id = nextId++
    const tenant = pick(options.tenants)
    const ledgered = options.ledger ? await options.ledger.acquire(id) : false
    const startedAt = Date.now()
    try {
      const result = await options.pool.query<{ version: number; lsn_before_commit: string }>(WRITE_SQL, [tenant, id])
      const row = result.rows[0]
      history.writes.push({ id, tenant, startedAt, endedAt: Date.now(), version: row?.version, lsnBeforeCommit: row?.lsn_before_commit, ledgered })
    } catch (err) {
      history.writes.push({ id, tenant, startedAt, endedAt: Date.now(), version: undefined, lsnBeforeCommit: undefined, ledgered, error: describe(err) })
      await pause(50) // Postgres is down: do not spin
    }
  }

  const readers = Array.from({ length: options.readers ?? 4 }, async () => { while (reading) await readOnce() })
  let made = 0
  const writersDone = Promise.all(Array.from({ length: options.writers ?? 3 }, async () => {
    while (writing && made < (options.maxWrites ?? Infinity)) {
      made++
      await writeOnce()
      if (options.writeIntervalMs) await pause(options.writeIntervalMs)
    }
  })).then(() => undefined)

  return {
    history,
    writersDone,
    async stopWriters() {
      writing = false
      await writersDone
    },
    async stop() {
      writing = false
      await writersDone
      reading = false
      await Promise.all(readers)
      return history
    },
  }
}

function classify(tenant: number, startedAt: number, target: string, res: Response, text: string): ReadRecord {
  const base = { tenant, startedAt, endedAt: Date.now(), status: res.status, xcache: res.headers.get('x-cache'), cacheStatus: res.headers.get('cache-status'), target }
  if (res.status === 200) {
    const version = (JSON.parse(text) as { version?: unknown }).version
    return { ...base, kind: 'ok', version: typeof version === 'number' ? version : undefined }
  }
  if (res.status < 500) return { ...base, kind: 'other-status', version: undefined, detail: text.slice(0, 200) }
  if (res.headers.get('x-origin') !== null) return { ...base, kind: 'upstream-5xx', version: undefined, detail: text.slice(0, 200) }
  const code = (() => { try { return (JSON.parse(text) as { code?: string }).code } catch { return undefined } })()
  const kind: ReadKind = (res.status === 502 && code === 'CCP_UPSTREAM_UNREACHABLE') || (res.status === 504 && code === 'CCP_UPSTREAM_TIMEOUT') ? 'upstream-unavailable' : 'proxy-5xx'
  return { ...base, kind, version: undefined, detail: text.slice(0, 200) }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } }
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ')
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A read that started more than the bound after a commit of version v, and saw an older version. */
export interface StaleRead {
  readonly read: ReadRecord
  readonly required: number
  readonly commitAgeMs: number
}

export interface CommittedWrite { readonly tenant: number; readonly version: number; readonly committedAt: number }

/**
 * Writes whose commit is known, with an upper bound of their commit time: the time the commit
 * returned, or, for a write whose outcome the client never learnt (connection lost) but which
 * the database has, the time the client saw the failure (the commit happened before it).
 */
export function committedWrites(history: History, committed: ReadonlyMap<number, { tenant: number; version: number }>): CommittedWrite[] {
  const out: CommittedWrite[] = []
  for (const write of history.writes) {
    const truth = committed.get(write.id)
    if (truth) out.push({ tenant: truth.tenant, version: truth.version, committedAt: write.endedAt })
  }
  return out
}

/**
 * The history checker: for every read with a version, the newest version committed (per the
 * upper bound above) more than `boundMs` before the read started; the read must see at least
 * that. Using the client's commit-return time can only make the check more lenient, never
 * report a read that was within the bound.
 */
export function findStaleReads(reads: readonly ReadRecord[], writes: readonly CommittedWrite[], boundMs: number): StaleRead[] {
  const byTenant = new Map<number, CommittedWrite[]>()
  for (const w of writes) byTenant.set(w.tenant, [...(byTenant.get(w.tenant) ?? []), w])
  const prefix = new Map<number, { times: number[]; maxVersion: number[] }>()
  for (const [tenant, list] of byTenant) {
    list.sort((a, b) => a.committedAt - b.committedAt)
    let max = 0
    prefix.set(tenant, { times: list.map((w) => w.committedAt), maxVersion: list.map((w) => (max = Math.max(max, w.version))) })
  }
  const stale: StaleRead[] = []
  for (const read of reads) {
    if (read.version === undefined) continue
    const p = prefix.get(read.tenant)
    if (!p) continue
    const i = lastIndexBefore(p.times, read.startedAt - boundMs)
    if (i < 0) continue
    const required = p.maxVersion[i] as number
    if (read.version < required) stale.push({ read, required, commitAgeMs: read.startedAt - (p.times[i] as number) })
  }
  return stale
}

/** The last index whose time is strictly below `limit`, or -1. */
function lastIndexBefore(times: readonly number[], limit: number): number {
  let lo = 0
  let hi = times.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if ((times[mid] as number) < limit) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found
}

export interface LoadSummary {
  reads: number
  hits: number
  misses: number
  bypasses: number
  byKind: Record<ReadKind, number>
  writesAttempted: number
  writesFailed: number
}

export function summarize(history: History): LoadSummary {
  const byKind: Record<ReadKind, number> = { ok: 0, 'upstream-5xx': 0, 'upstream-unavailable': 0, 'proxy-5xx': 0, 'connection-error': 0, 'other-status': 0 }
  for (const read of history.reads) byKind[read.kind]++
  return {
    reads: history.reads.length,
    hits: history.reads.filter((r) => r.xcache === 'HIT').length,
    misses: history.reads.filter((r) => r.xcache === 'MISS').length,
    bypasses: history.reads.filter((r) => r.xcache === 'BYPASS').length,
    byKind,
    writesAttempted: history.writes.length,
    writesFailed: history.writes.filter((w) => w.error !== undefined).length,
  }
}

/** One line for t.comment. */
export function describeSummary(s: LoadSummary): string {
  const kinds = Object.entries(s.byKind).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ')
  return `reads=${s.reads} (HIT ${s.hits}, MISS ${s.misses}, BYPASS ${s.bypasses}; ${kinds}) writes=${s.writesAttempted} (failed at the client ${s.writesFailed})`
}
