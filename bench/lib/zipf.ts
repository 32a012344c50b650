import type { Random } from '../../examples/helpdesk-api/random.js'

/**
 * Zipf's law over ranks 0..n-1: P(k) proportional to 1 / (k+1)^s. A few users, tenants and
 * queries get most of the traffic, as in real multi-tenant APIs. Sampling is a binary search
 * in the precomputed cumulative distribution.
 */
export interface Zipf {
  sample(): number
}

export function makeZipf(n: number, s: number, random: Random): Zipf {
  const cdf = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s
    cdf[k] = total
  }
  return {
    sample() {
      const target = random.next() * total
      let lo = 0
      let hi = n - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((cdf[mid] ?? 0) < target) lo = mid + 1
        else hi = mid
      }
      return lo
    },
  }
}
