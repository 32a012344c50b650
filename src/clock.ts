/** Time is injected so TTL and freshness tests move a fake clock instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. Take it once per request. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export function makeManualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void; set(ms: number): void } {
  let current = start
  return {
    now: () => current,
    advance(ms: number) { current += ms },
    set(ms: number) { current = ms },
  }
}
