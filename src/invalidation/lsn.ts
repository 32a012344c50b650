import { ProxyError } from '../errors.js'

/**
 * A WAL position (pg_lsn) as a 64-bit unsigned integer. Postgres prints it as two hex
 * halves, `16/B374D848`, without zero padding; pg-logical-replication prints it sometimes
 * padded (`00000016/B374D848`, commit messages) and sometimes not (XLogData headers), and
 * sends relation messages with `0/0`. Comparing the strings is wrong in every one of those
 * cases, so positions are compared only as bigint.
 * https://www.postgresql.org/docs/current/datatype-pg-lsn.html
 */
export type Lsn = bigint

/** `0/0`: InvalidXLogRecPtr. As a START_REPLICATION position it means "the slot's confirmed_flush". */
export const INVALID_LSN: Lsn = 0n

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/
const MAX_LSN = (1n << 64n) - 1n

export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text)
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new ProxyError('CCP_REPLICATION_STREAM', `not a WAL position (pg_lsn): "${text}"`)
  }
  return (BigInt('0x' + match[1]) << 32n) | BigInt('0x' + match[2])
}

/** Postgres' own spelling: upper-case hex halves, no padding (`0/0`, `16/B374D848`). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > MAX_LSN) throw new RangeError(`WAL position out of range: ${lsn}`)
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/** A nullable library field (`commitLsn: string | null`, null meaning 0/0) as a position. */
export function parseNullableLsn(text: string | null | undefined): Lsn {
  return text === null || text === undefined ? INVALID_LSN : parseLsn(text)
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b
}
