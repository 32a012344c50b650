import type pg from 'pg'
import { makeRandom, type Random } from '../../examples/helpdesk-api/random.js'
import type { MixWorkload } from './mix-workload.js'
import { driveAtRate } from './rate-driver.js'
import type { StaleChecker } from './stale-checker.js'
import { wallMs } from './wait.js'

/**
 * The realistic mix's write side: a steady rate of single-row commits straight to Postgres
 * (as the app, a script or psql would), by Zipf-chosen users: ticket updates on tickets of
 * the user's first page (version + 1, seen by the checker), attendance punch corrections,
 * and now and then a person's update (which invalidates the tenant's people search and
 * ticket lists).
 */
export type WriteKind = 'ticket' | 'attendance' | 'person'

export const WRITE_RATES: Readonly<Record<WriteKind, number>> = { ticket: 20, attendance: 5, person: 0.2 }

interface WriteTargets {
  readonly ticketsByUser: ReadonlyMap<number, readonly number[]>
  readonly eventsByUser: ReadonlyMap<number, readonly number[]>
}

export async function loadWriteTargets(pool: pg.Pool): Promise<WriteTargets> {
  const tickets = await pool.query<{ person: number; ids: number[] }>(`
    SELECT p.id AS person, array(
      SELECT t.id FROM y_helpdesk_ticket t
      WHERE t.client_id = p.client_id AND (t.reporter_id = p.id OR t.assigned_to_id = p.id)
      ORDER BY t.created_at DESC LIMIT 20) AS ids
    FROM peoples p`)
  const events = await pool.query<{ person: number; ids: number[] }>(
    `SELECT people_id AS person, array_agg(id) AS ids FROM peopleeventlog WHERE event_date >= '2025-11-22' GROUP BY people_id`)
  return {
    ticketsByUser: new Map(tickets.rows.map((r) => [r.person, r.ids])),
    eventsByUser: new Map(events.rows.map((r) => [r.person, r.ids])),
  }
}

export interface WriteCounts { readonly ticket: number; readonly attendance: number; readonly person: number; readonly failed: number; readonly achievedPerSec: number }

export async function runWriters(options: {
  readonly pool: pg.Pool
  readonly workload: MixWorkload
  readonly targets: WriteTargets
  readonly checker: StaleChecker
  readonly seconds: number
}): Promise<WriteCounts> {
  const random = makeRandom(7)
  const counts = { ticket: 0, attendance: 0, person: 0 }
  const total = WRITE_RATES.ticket + WRITE_RATES.attendance + WRITE_RATES.person
  const outcome = await driveAtRate({
    ratePerSec: total, seconds: options.seconds, targets: Array.from({ length: 8 }, (_, i) => i),
    task: async () => {
      const kind = random.weighted(Object.entries(WRITE_RATES) as [WriteKind, number][])
      const done = await writeOnce(kind, options, random)
      if (done) counts[kind]++
      return done ? kind : undefined
    },
  })
  return { ...counts, failed: outcome.failed, achievedPerSec: Math.round((outcome.results.length / outcome.elapsedMs) * 10_000) / 10 }
}

async function writeOnce(kind: WriteKind, options: { pool: pg.Pool; workload: MixWorkload; targets: WriteTargets; checker: StaleChecker }, random: Random): Promise<boolean> {
  const { user } = options.workload.nextUser()
  if (kind === 'person') {
    await options.pool.query('UPDATE peoples SET version = version + 1 WHERE id = $1', [user])
    return true
  }
  const ids = kind === 'ticket' ? options.targets.ticketsByUser.get(user) : options.targets.eventsByUser.get(user)
  if (ids === undefined || ids.length === 0) return false
  const id = random.pick(ids)
  if (kind === 'attendance') {
    await options.pool.query(`UPDATE peopleeventlog SET punch_out = punch_out + interval '1 second', version = version + 1 WHERE id = $1`, [id])
    return true
  }
  const result = await options.pool.query<{ version: number }>('UPDATE y_helpdesk_ticket SET version = version + 1, updated_at = now() WHERE id = $1 RETURNING version', [id])
  const version = result.rows[0]?.version
  if (version !== undefined) options.checker.recordWrite(id, version, wallMs())
  return true
}
