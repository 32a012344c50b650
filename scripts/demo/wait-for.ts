import { setTimeout as delay } from 'node:timers/promises'

/**
 * Polls `probe` until it returns a value, with a deadline: readiness is observed, never
 * assumed after a fixed sleep. `probe` may throw to abort (e.g. the process it waits for died).
 */
export async function waitFor<T>(
  what: string, probe: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`)
    await delay(options.intervalMs ?? 100)
  }
}
