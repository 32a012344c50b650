import { formatLsn, type Lsn } from './lsn.js'

/**
 * What to pass to pg-logical-replication's `acknowledge(lsn)` so that the Standby Status
 * Update on the wire carries exactly `position`.
 *
 * The library writes `lsn + 1` into the write, flush and apply fields. A subscriber must
 * confirm the END of the commit record (the built-in apply worker reports the commit's
 * end_lsn), and on restart Postgres skips every transaction whose commit record starts
 * before the confirmed position. The next transaction's commit record can start exactly
 * at our end position (two sessions committing back to back), so confirming `end + 1`
 * silently skips it after a reconnect. Passing `end - 1` makes the library send `end`.
 * Pinned by test/invalidation/library-ack-adds-one.test.ts.
 * https://www.postgresql.org/docs/current/protocol-replication.html (Standby status update)
 */
export function libraryAckArgument(position: Lsn): string {
  if (position <= 0n) throw new RangeError('cannot acknowledge the invalid position 0/0')
  return formatLsn(position - 1n)
}
