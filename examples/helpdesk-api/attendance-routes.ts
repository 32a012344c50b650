import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { Authenticate } from './auth.js'
import { sendData, sendError } from './envelope.js'
import { withUser } from './with-user.js'

/**
 * The seed's `AttendanceQueryService`: the caller's own punch records (peopleeventlog) by date
 * range, and a monthly summary. Both are per user, which is why the proxy caches them with
 * `scope: user`. Times are UTC.
 */
interface RangeQuery { start?: string; end?: string }
interface SummaryQuery { year?: number; month?: number }

const DAY_MS = 86_400_000
const MAX_RANGE_DAYS = 366
const isoDate = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } as const

const RANGE_SQL = `
  SELECT id, event_date::text AS event_date, punch_in, punch_out,
         CASE WHEN punch_out IS NULL THEN NULL
              ELSE round(extract(epoch FROM punch_out - punch_in) / 3600.0, 2)::float8 END AS hours_worked
  FROM peopleeventlog
  WHERE client_id = $1 AND people_id = $2 AND event_date BETWEEN $3::date AND $4::date
  ORDER BY event_date, id`

// "Late" follows the seed's reports: a punch-in after 09:15.
const SUMMARY_SQL = `
  SELECT count(*)::int AS days_present,
         count(punch_out)::int AS days_completed,
         coalesce(round(sum(extract(epoch FROM punch_out - punch_in)) / 3600.0, 2), 0)::float8 AS total_hours,
         count(*) FILTER (WHERE (punch_in AT TIME ZONE 'UTC')::time > time '09:15')::int AS late_arrivals,
         min(event_date)::text AS first_day, max(event_date)::text AS last_day
  FROM peopleeventlog
  WHERE client_id = $1 AND people_id = $2
    AND event_date >= make_date($3, $4, 1) AND event_date < make_date($3, $4, 1) + interval '1 month'`

export function registerAttendanceRoutes(app: FastifyInstance, deps: { pool: pg.Pool; authenticate: Authenticate }): void {
  const { pool, authenticate } = deps

  app.get<{ Querystring: RangeQuery }>('/api/v2/attendance/',
    { schema: { querystring: { type: 'object', properties: { start: isoDate, end: isoDate } } } },
    withUser(authenticate, async (request, reply, user) => {
      const range = determineRange(request.query, Date.now())
      if (!range.ok) return sendError(reply, request, 400, { code: 'INVALID_RANGE', message: range.message })
      const result = await pool.query(RANGE_SQL, [user.tenant, user.id, range.start, range.end])
      return sendData(reply, request, { results: result.rows, count: result.rows.length, start: range.start, end: range.end })
    }))

  app.get<{ Querystring: SummaryQuery }>('/api/v2/attendance/summary/', { schema: { querystring: summaryQuerySchema } },
    withUser(authenticate, async (request, reply, user) => {
      const now = new Date()
      const year = request.query.year ?? now.getUTCFullYear()
      const month = request.query.month ?? now.getUTCMonth() + 1
      const result = await pool.query(SUMMARY_SQL, [user.tenant, user.id, year, month])
      return sendData(reply, request, makeSummary(year, month, result.rows[0] as SummaryRow))
    }))
}

const summaryQuerySchema = {
  type: 'object',
  properties: {
    year: { type: 'integer', minimum: 2000, maximum: 2100 },
    month: { type: 'integer', minimum: 1, maximum: 12 },
  },
} as const

type RangeVerdict = { ok: true; start: string; end: string } | { ok: false; message: string }

/** Defaults to the seven days ending today, like the seed's `get_recent_attendance`. */
export function determineRange(query: RangeQuery, nowMs: number): RangeVerdict {
  const end = query.end ?? toIsoDate(nowMs)
  const start = query.start ?? toIsoDate(Date.parse(`${end}T00:00:00Z`) - 6 * DAY_MS)
  const startMs = parseIsoDate(start)
  const endMs = parseIsoDate(end)
  if (startMs === undefined || endMs === undefined) return { ok: false, message: 'start and end must be real dates (YYYY-MM-DD).' }
  if (startMs > endMs) return { ok: false, message: 'start must not be after end.' }
  if ((endMs - startMs) / DAY_MS >= MAX_RANGE_DAYS) return { ok: false, message: `a range covers at most ${MAX_RANGE_DAYS} days.` }
  return { ok: true, start, end }
}

// Rejects dates such as 2025-02-30 that Date.parse would roll over into March.
function parseIsoDate(text: string): number | undefined {
  const ms = Date.parse(`${text}T00:00:00Z`)
  return Number.isNaN(ms) || toIsoDate(ms) !== text ? undefined : ms
}

function toIsoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

interface SummaryRow {
  days_present: number; days_completed: number; total_hours: number; late_arrivals: number
  first_day: string | null; last_day: string | null
}

function makeSummary(year: number, month: number, row: SummaryRow) {
  const average = row.days_completed === 0 ? 0 : Math.round((row.total_hours / row.days_completed) * 100) / 100
  return { year, month, ...row, average_hours: average }
}
