import { sleep } from './wait.js'

/**
 * Starts `task` at a steady rate (open loop: a slow task does not slow the schedule), each
 * on a target that is not already in use. A due start with no free target is counted as
 * skipped, not queued, so the rate reported is the rate achieved.
 */
export interface RateOutcome<R> {
  readonly results: R[]
  readonly started: number
  readonly skipped: number
  readonly failed: number
  readonly elapsedMs: number
}

export async function driveAtRate<T, R>(options: {
  readonly ratePerSec: number
  readonly seconds: number
  readonly targets: readonly T[]
  readonly task: (target: T) => Promise<R | undefined>
}): Promise<RateOutcome<R>> {
  const { ratePerSec, seconds, targets, task } = options
  const free = [...targets]
  const results: R[] = []
  const inflight = new Set<Promise<void>>()
  const total = Math.round(ratePerSec * seconds)
  let due = 0
  let started = 0
  let skipped = 0
  let failed = 0
  const t0 = performance.now()
  const launch = (target: T): void => {
    const run: Promise<void> = task(target).then(
      (r) => { if (r !== undefined) results.push(r); else failed++ },
      () => { failed++ },
    ).finally(() => { inflight.delete(run); free.push(target) })
    inflight.add(run)
  }
  while (due < total) {
    const now = Math.min(total, Math.floor(((performance.now() - t0) * ratePerSec) / 1000))
    for (; due < now; due++) {
      const target = free.shift()
      if (target === undefined) skipped++
      else { started++; launch(target) }
    }
    await sleep(1)
  }
  await Promise.all(inflight)
  return { results, started, skipped, failed, elapsedMs: performance.now() - t0 }
}
