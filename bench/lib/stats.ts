/** Latency summaries in milliseconds (nearest-rank percentiles on the sorted samples). */
export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
  const total = sorted.reduce((sum, x) => sum + x, 0)
  return {
    count: sorted.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)),
    max: round(sorted[sorted.length - 1] ?? NaN), mean: round(total / Math.max(1, sorted.length)),
  }
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** a / b rounded, or null when b is zero or missing (a ratio that cannot be computed is not 0). */
export function ratio(a: number | undefined, b: number | undefined, digits = 3): number | null {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null
  return round(a / b, digits)
}
