/**
 * Exponential backoff with jitter, capped. "Equal jitter": half the window is fixed, half
 * random, so replicas that lost the same connection do not retry in lockstep and no delay
 * collapses to zero (a tight reconnect loop against a struggling server).
 */
export interface Backoff {
  next(): number
  reset(): void
}

export interface BackoffOptions {
  readonly baseMs: number
  readonly maxMs: number
  readonly random?: () => number
}

export function makeBackoff({ baseMs, maxMs, random = Math.random }: BackoffOptions): Backoff {
  let attempt = 0
  return {
    next() {
      const window = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
      attempt += 1
      return Math.round(window / 2 + random() * (window / 2))
    },
    reset() {
      attempt = 0
    },
  }
}

/** A delay around `ms` (plus or minus a quarter), for periodic retries such as standbys polling the slot. */
export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.75 + random() * 0.5))
}
