/**
 * How often each route's store lookups miss lately, as a moving average over about the last
 * WINDOW lookups (an exponentially weighted one: no history to keep). A route nobody has
 * looked up yet counts as missing: an empty cache misses.
 */
const WINDOW = 16

export function makeMissRates() {
  const rates = new Map<string, number>()
  return {
    record(route: string, missed: boolean): void {
      const rate = rates.get(route) ?? 1
      rates.set(route, rate + ((missed ? 1 : 0) - rate) / WINDOW)
    },
    /** More than half of the route's recent lookups missed. */
    mostlyMisses(route: string): boolean {
      return (rates.get(route) ?? 1) > 0.5
    },
  }
}
