/**
 * Durations are seconds (a number) or `<n>ms|s|m|h|d`. A typo is an error, never zero:
 * Souin's silent parse of a mistyped TTL to 0 is the trap this avoids.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number' && Number.isFinite(input) && input >= 0) return { ok: true, value: Math.round(input * 1000) }
  if (typeof input === 'string') {
    const trimmed = input.trim()
    if (/^\d+(\.\d+)?$/.test(trimmed)) return { ok: true, value: Math.round(Number(trimmed) * 1000) }
    const match = DURATION.exec(trimmed)
    if (match) return { ok: true, value: Math.round(Number(match[1]) * (UNITS[match[2] as string] as number)) }
  }
  return { ok: false, reason: `${JSON.stringify(input)} is not a duration (use seconds, or a number with ms, s, m, h or d: 30s, 5m, 1h)` }
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1 << 20, mib: 1 << 20, gb: 1 << 30, gib: 1 << 30 }
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)$/i

/** Sizes are bytes (a number) or `<n>kb|mb|gb` (binary units). */
export function parseSize(input: unknown): Parsed<number> {
  if (typeof input === 'number' && Number.isInteger(input) && input >= 0) return { ok: true, value: input }
  if (typeof input === 'string') {
    const match = SIZE.exec(input.trim())
    if (match) return { ok: true, value: Math.floor(Number(match[1]) * (SIZE_UNITS[(match[2] as string).toLowerCase()] as number)) }
  }
  return { ok: false, reason: `${JSON.stringify(input)} is not a size (use bytes, or 512kb, 1mb, 1gb)` }
}
