/** Reads the proxy's Prometheus text exposition: sums of a metric's samples whose labels match. */
export type Labels = Readonly<Record<string, string>>

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export interface Sample { readonly name: string; readonly labels: Labels; readonly value: number }

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const match = SAMPLE.exec(line)
    if (!match?.[1] || match[3] === undefined) continue
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) if (key !== undefined) labels[key] = value ?? ''
    samples.push({ name: match[1], labels, value: Number(match[3]) })
  }
  return samples
}

export function sumMetric(samples: readonly Sample[], name: string, filter: Labels = {}): number {
  let total = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(filter).every(([k, v]) => s.labels[k] === v)) total += s.value
  }
  return total
}

/** The sums of `name` per value of the `by` labels (joined by a space, empty values left out), e.g. requests by X-Cache and reason. */
export function groupMetric(samples: readonly Sample[], name: string, by: string | readonly string[], filter: Labels = {}): Record<string, number> {
  const out: Record<string, number> = {}
  const labels = typeof by === 'string' ? [by] : by
  for (const s of samples) {
    if (s.name !== name || !Object.entries(filter).every(([k, v]) => s.labels[k] === v)) continue
    const key = labels.map((l) => s.labels[l] ?? '').filter((v) => v !== '').join(' ')
    out[key] = (out[key] ?? 0) + s.value
  }
  return out
}

/** Subtracts two groupings (after - before). */
export function deltaGroups(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0)
    if (d !== 0) out[k] = d
  }
  return out
}
