import { setTimeout as delay } from 'node:timers/promises'

/** Waits `ms`, or less if `signal` aborts first; never rejects (stopping is not an error). */
export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  try {
    await delay(ms, undefined, { signal })
  } catch {
    // aborted: the caller checks its own stop flag
  }
}
