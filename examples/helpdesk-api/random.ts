/**
 * A seeded pseudo-random source, so that the seed data (and with it the benchmark payloads)
 * is the same on every machine. mulberry32: small, fast and good enough for fake data.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  /** Picks one value by weight: `[['open', 3], ['closed', 1]]`. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T
  chance(probability: number): boolean
}

export function makeRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[int(0, items.length - 1)] as (typeof items)[number]
    },
    weighted: (choices) => pickWeighted(choices, next()),
    chance: (probability) => next() < probability,
  }
}

function pickWeighted<T>(choices: readonly (readonly [T, number])[], roll: number): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0)
  let threshold = roll * total
  for (const [value, weight] of choices) {
    threshold -= weight
    if (threshold < 0) return value
  }
  const last = choices[choices.length - 1]
  if (last === undefined) throw new Error('weighted pick from an empty list')
  return last[0]
}
