/**
 * The history checker of the realistic mix. Writers record, for each ticket, every version
 * they committed and when the commit returned. A ticket-list read that started at time t
 * and shows version v of a ticket is stale if a newer version had returned from its commit
 * before t; it is stale beyond the bound if that happened more than `boundMs` before t.
 */
export interface StaleReport {
  readonly readsChecked: number
  readonly ticketsChecked: number
  readonly staleWithinBound: number
  readonly staleBeyondBound: number
  readonly maxStaleAgeMs: number
}

export interface StaleChecker {
  recordWrite(ticket: number, version: number, committedAt: number): void
  checkRead(startedAt: number, served: readonly { id: number; version: number }[]): void
  report(): StaleReport
}

export function makeStaleChecker(boundMs: number): StaleChecker {
  const history = new Map<number, { version: number; committedAt: number }[]>()
  let readsChecked = 0
  let ticketsChecked = 0
  let staleWithinBound = 0
  let staleBeyondBound = 0
  let maxStaleAgeMs = 0
  const staleAge = (startedAt: number, ticket: { id: number; version: number }): number => {
    let oldest = Infinity
    for (const write of history.get(ticket.id) ?? []) {
      if (write.version > ticket.version && write.committedAt < startedAt) oldest = Math.min(oldest, write.committedAt)
    }
    return oldest === Infinity ? 0 : startedAt - oldest
  }
  return {
    recordWrite(ticket, version, committedAt) {
      const writes = history.get(ticket) ?? []
      writes.push({ version, committedAt })
      history.set(ticket, writes)
    },
    checkRead(startedAt, served) {
      readsChecked++
      ticketsChecked += served.length
      const age = Math.max(0, ...served.map((ticket) => staleAge(startedAt, ticket)))
      if (age === 0) return
      maxStaleAgeMs = Math.max(maxStaleAgeMs, age)
      if (age > boundMs) staleBeyondBound++
      else staleWithinBound++
    },
    report: () => ({ readsChecked, ticketsChecked, staleWithinBound, staleBeyondBound, maxStaleAgeMs: Math.round(maxStaleAgeMs) }),
  }
}
