import { ProxyError } from '../errors.js'
import { parseLsn, type Lsn } from './lsn.js'
import { sqlState, type SqlClient } from './sql-client.js'

/**
 * The logical replication slot: the server-side cursor that remembers how far the proxy
 * has confirmed. If it has to be created (first start, dropped by someone) or recreated
 * (its WAL was removed, `wal_status = 'lost'`), changes may have been missed, and the caller
 * must treat everything cached before as invalid.
 * https://www.postgresql.org/docs/current/view-pg-replication-slots.html
 */
export interface SlotRow {
  readonly slot_type: string
  readonly plugin: string | null
  readonly database: string | null
  readonly active: boolean
  readonly active_pid: number | null
  readonly wal_status: string | null
  readonly confirmed_flush_lsn: string | null
}

export type SlotAction =
  | { readonly kind: 'use' }
  | { readonly kind: 'create' }
  | { readonly kind: 'recreate' }
  | { readonly kind: 'report-lost' }
  | { readonly kind: 'refuse'; readonly reason: string }

export function determineSlotAction(row: SlotRow | undefined, database: string, recreateLost: boolean): SlotAction {
  if (row === undefined) return { kind: 'create' }
  if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput') {
    return { kind: 'refuse', reason: `is a ${row.slot_type} slot with plugin ${row.plugin ?? 'none'}, not a logical pgoutput slot` }
  }
  if (row.database !== database) return { kind: 'refuse', reason: `belongs to database "${row.database}", not "${database}"` }
  // 'lost': the WAL the slot needs is gone (max_slot_wal_keep_size); it can never stream again.
  if (row.wal_status === 'lost') return recreateLost ? { kind: 'recreate' } : { kind: 'report-lost' }
  return { kind: 'use' }
}

export type SlotStatus = 'existing' | 'created' | 'recreated' | 'lost'

export interface SlotReport {
  readonly name: string
  readonly status: SlotStatus
  readonly walStatus: string | null
  readonly active: boolean
  readonly confirmedFlushLsn: string | null
}

export async function readSlot(sql: SqlClient, slot: string): Promise<SlotRow | undefined> {
  const result = await sql.query<SlotRow>(
    `SELECT slot_type, plugin, database, active, active_pid, wal_status, confirmed_flush_lsn::text AS confirmed_flush_lsn
       FROM pg_replication_slots WHERE slot_name = $1`, [slot])
  return result.rows[0]
}

/** The slot's confirmed position, or undefined if the slot does not exist (or has none yet). */
export async function readConfirmedFlush(sql: SqlClient, slot: string): Promise<Lsn | undefined> {
  const row = await readSlot(sql, slot)
  return row?.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : undefined
}

/**
 * After we gave up on a silent connection, the server may not notice for
 * wal_sender_timeout (60 s by default) and keeps the slot busy: every replica, us
 * included, would stand by that long. Ends that walsender, and only if it is still the one
 * that streamed to us. https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-WAL-SENDER-TIMEOUT
 */
export async function terminateStaleWalsender(sql: SqlClient, slot: string, pid: number): Promise<boolean> {
  const result = await sql.query<{ terminated: boolean }>(
    'SELECT pg_terminate_backend(active_pid) AS terminated FROM pg_replication_slots WHERE slot_name = $1 AND active_pid = $2', [slot, pid])
  return result.rows[0]?.terminated === true
}

export async function ensureSlot(sql: SqlClient, slot: string, recreateLost: boolean): Promise<SlotReport> {
  const database = (await sql.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? ''
  const row = await readSlot(sql, slot)
  const action = determineSlotAction(row, database, recreateLost)
  switch (action.kind) {
    case 'refuse':
      throw new ProxyError('CCP_REPLICATION_SETUP', `replication slot "${slot}" ${action.reason}; choose another slot name`)
    case 'use':
    case 'report-lost':
      return describeSlot(slot, row, action.kind === 'use' ? 'existing' : 'lost')
    case 'create':
      return describeSlot(slot, await createSlot(sql, slot), 'created')
    case 'recreate':
      await dropSlot(sql, slot)
      return describeSlot(slot, await createSlot(sql, slot), 'recreated')
  }
}

async function createSlot(sql: SqlClient, slot: string): Promise<SlotRow | undefined> {
  try {
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot])
  } catch (cause) {
    // 42710 duplicate_object: another replica created it between our check and now.
    if (sqlState(cause) !== '42710') throw new ProxyError('CCP_REPLICATION_SETUP', `could not create replication slot "${slot}": ${(cause as Error).message}`, { cause })
  }
  return readSlot(sql, slot)
}

async function dropSlot(sql: SqlClient, slot: string): Promise<void> {
  try {
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot])
  } catch (cause) {
    throw new ProxyError('CCP_REPLICATION_SETUP', `replication slot "${slot}" is lost and could not be dropped: ${(cause as Error).message}`, { cause })
  }
}

function describeSlot(name: string, row: SlotRow | undefined, status: SlotStatus): SlotReport {
  return { name, status, walStatus: row?.wal_status ?? null, active: row?.active ?? false, confirmedFlushLsn: row?.confirmed_flush_lsn ?? null }
}
