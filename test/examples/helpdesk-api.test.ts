import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { startHelpdeskApi, type RunningHelpdeskApi } from '../../examples/helpdesk-api/server.js'
import { setUpHelpdeskDatabase } from '../../examples/helpdesk-api/setup-database.js'
import { makeHelpdeskToken } from '../../examples/helpdesk-api/token.js'

/**
 * The example helpdesk API (the proxy's upstream in the demo and the benchmarks) against a
 * database of its own: auth refusals, tenant and user isolation, and the response shapes the
 * proxy caches. Only the database created here is touched, and it is dropped at the end.
 */
const ADMIN_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const SECRET = 'helpdesk-test-secret-' + randomBytes(8).toString('hex')
const PEOPLE = 12
// Tenant 1's people are ids 1..12 and tenant 2's 13..24; the first of each is an agent.
const AGENT_T1 = 1
const AGENT_T2 = PEOPLE + 1
const TICKETS = '/api/v2/helpdesk/tickets/'

interface Envelope<T = unknown> {
  success: boolean
  data: T
  error?: { code: string; message: string }
  meta: { correlation_id: string; timestamp: string }
}
interface Person { id: number; username: string; first_name: string; last_name: string; full_name: string; email: string }
interface Ticket {
  id: number; title: string; description: string; status: string; priority: string; version: number; client_id: number
  bu: { id: number; name: string }; reporter: Person; assigned_to: Person | null; created_at: string; updated_at: string
}
interface Page<T> { results: T[]; count: number; page: number; page_size: number }

const admin = new pg.Client({ connectionString: ADMIN_URL })
const databaseName = `ccp_t_${randomBytes(6).toString('hex')}`
let api: RunningHelpdeskApi

t.before(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${databaseName}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${databaseName}`
  await setUpHelpdeskDatabase(url.toString(), { tenants: 2, peoplePerTenant: PEOPLE, ticketsPerTenant: 80, attendanceDays: 10 })
  api = await startHelpdeskApi({ databaseUrl: url.toString(), port: 0, host: '127.0.0.1', jwtSecret: SECRET })
})

t.teardown(async () => {
  await api?.close()
  await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
  await admin.end()
})

function tokenFor(tenant: number, user: number): string {
  return makeHelpdeskToken({ secret: SECRET, claims: { tenant, sub: user } })
}

async function get<T>(path: string, token?: string, init: RequestInit = {}): Promise<{ response: Response; body: Envelope<T> }> {
  const headers = new Headers(init.headers)
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`)
  const response = await fetch(api.url + path, { ...init, headers })
  return { response, body: (await response.json()) as Envelope<T> }
}

function send<T>(method: string, path: string, token: string, payload: unknown) {
  return get<T>(path, token, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
}

t.test('without a valid token every endpoint answers 401 JSON', async (t) => {
  const expired = createSigner({ key: SECRET, algorithm: 'HS256', clockTimestamp: Date.now() - 7_200_000, expiresIn: 60_000 })
  const unsigned = createSigner({ algorithm: 'none' })
  const cases: [string, string | undefined, string][] = [
    ['no token', undefined, 'NOT_AUTHENTICATED'],
    ['wrong secret', makeHelpdeskToken({ secret: 'another-secret', claims: { tenant: 1, sub: AGENT_T1 } }), 'AUTHENTICATION_FAILED'],
    ['alg none', unsigned({ tenant: '1', sub: String(AGENT_T1) }), 'AUTHENTICATION_FAILED'],
    ['expired', expired({ tenant: '1', sub: String(AGENT_T1) }), 'AUTHENTICATION_FAILED'],
    ['person of another tenant', tokenFor(1, AGENT_T2), 'AUTHENTICATION_FAILED'],
    ['missing tenant claim', createSigner({ key: SECRET })({ sub: String(AGENT_T1) }), 'AUTHENTICATION_FAILED'],
  ]
  for (const path of [TICKETS, '/api/v2/people/search/', '/api/v2/attendance/', '/api/v2/attendance/summary/']) {
    for (const [label, token, code] of cases) {
      const { response, body } = await get(path, token)
      t.equal(response.status, 401, `${path}: ${label}`)
      t.equal(response.headers.get('content-type'), 'application/json')
      t.equal(response.headers.get('www-authenticate'), 'Bearer realm="api"')
      t.same({ success: body.success, code: body.error?.code }, { success: false, code }, `${path}: ${label}`)
    }
  }
  const write = await send('POST', TICKETS, 'not-a-jwt', { title: 'x' })
  t.equal(write.response.status, 401, 'writes are refused too')
})

t.test('the ticket list is DRF-shaped: envelope, 20 per page, nested people, Vary: Accept, no cookie', async (t) => {
  const { response, body } = await get<Page<Ticket>>(TICKETS, tokenFor(1, AGENT_T1))
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'application/json')
  t.equal(response.headers.get('vary'), 'Accept')
  t.equal(response.headers.get('set-cookie'), null)
  t.equal(response.headers.get('etag'), null)
  t.equal(body.success, true)
  t.match(body.meta, { correlation_id: String, timestamp: /^\d{4}-\d\d-\d\dT/ })
  t.match(body.data, { count: Number, page: 1, page_size: 20 })
  t.equal(body.data.results.length, 20, 'the agent has more than a page of tickets')
  const first = body.data.results[0]
  t.match(first, {
    id: Number, title: String, description: String, status: String, priority: /^P[1-4]$/, version: 1, client_id: 1,
    bu: { id: Number, name: String }, reporter: { id: Number, username: String, full_name: String, email: /@/ },
    created_at: /Z$/, updated_at: /Z$/,
  })
  const created = body.data.results.map((ticket) => ticket.created_at)
  t.same(created, [...created].sort().reverse(), 'newest first')
})

t.test('a user sees only their tenant\'s tickets that they report or handle', async (t) => {
  for (const [tenant, user] of [[1, AGENT_T1], [2, AGENT_T2], [1, 5]] as const) {
    const { body } = await get<Page<Ticket>>(`${TICKETS}?limit=100`, tokenFor(tenant, user))
    t.ok(body.data.results.length > 0, `tenant ${tenant} user ${user} has tickets`)
    t.equal(body.data.count, body.data.results.length, 'count is the number of visible tickets')
    for (const ticket of body.data.results) {
      t.equal(ticket.client_id, tenant)
      t.ok(ticket.reporter.id === user || ticket.assigned_to?.id === user, `ticket ${ticket.id} involves user ${user}`)
    }
  }
  const one = await get<Page<Ticket>>(`${TICKETS}?limit=100`, tokenFor(1, AGENT_T1))
  const two = await get<Page<Ticket>>(`${TICKETS}?limit=100`, tokenFor(2, AGENT_T2))
  const ids = new Set(one.body.data.results.map((ticket) => ticket.id))
  t.notOk(two.body.data.results.some((ticket) => ids.has(ticket.id)), 'no ticket appears for both tenants')
})

t.test('filters, search and pages narrow the list', async (t) => {
  const token = tokenFor(1, AGENT_T1)
  const all = (await get<Page<Ticket>>(`${TICKETS}?limit=100`, token)).body.data
  const open = (await get<Page<Ticket>>(`${TICKETS}?status=open&limit=100`, token)).body.data
  t.equal(open.count, all.results.filter((ticket) => ticket.status === 'open').length)
  t.ok(open.results.every((ticket) => ticket.status === 'open'))
  const p1 = (await get<Page<Ticket>>(`${TICKETS}?priority=P1&status=&limit=100`, token)).body.data
  t.equal(p1.count, all.results.filter((ticket) => ticket.priority === 'P1').length, 'an empty status means any')
  const word = all.results[0]?.title.split(' ')[0] ?? 'x'
  const found = (await get<Page<Ticket>>(`${TICKETS}?search=${encodeURIComponent(word.toUpperCase())}&limit=100`, token)).body.data
  t.ok(found.count > 0 && found.results.every((ticket) => `${ticket.title} ${ticket.description}`.toLowerCase().includes(word.toLowerCase())))
  const wildcard = (await get<Page<Ticket>>(`${TICKETS}?search=%25`, token)).body.data
  t.equal(wildcard.count, 0, 'a % in the search is matched literally, not as a wildcard')
  const page1 = (await get<Page<Ticket>>(`${TICKETS}?limit=5&page=1`, token)).body.data
  const page2 = (await get<Page<Ticket>>(`${TICKETS}?limit=5&page=2`, token)).body.data
  t.same([...page1.results, ...page2.results].map((ticket) => ticket.id), all.results.slice(0, 10).map((ticket) => ticket.id))
  t.equal(page2.page, 2)
  for (const bad of ['limit=0', 'limit=101', 'page=0', 'status=bogus', 'priority=P9']) {
    const { response, body } = await get(`${TICKETS}?${bad}`, token)
    t.equal(response.status, 400, bad)
    t.equal(body.error?.code, 'VALIDATION_ERROR', bad)
  }
})

t.test('POST and PATCH write through the app and bump the version', async (t) => {
  const token = tokenFor(1, AGENT_T1)
  const created = await send<Ticket>('POST', TICKETS, token, { title: 'Test ticket', priority: 'P1', assigned_to_id: 2 })
  t.equal(created.response.status, 201)
  t.match(created.body.data, { title: 'Test ticket', status: 'open', priority: 'P1', version: 1, client_id: 1, reporter: { id: AGENT_T1 }, assigned_to: { id: 2 } })
  const id = created.body.data.id
  const listed = (await get<Page<Ticket>>(`${TICKETS}?limit=1`, token)).body.data.results[0]
  t.equal(listed?.id, id, 'the new ticket heads the list')
  const patched = await send<Ticket>('PATCH', `${TICKETS}${id}/`, token, { status: 'resolved', version: 1 })
  t.equal(patched.response.status, 200)
  t.match(patched.body.data, { id, status: 'resolved', version: 2 })
  const stale = await send('PATCH', `${TICKETS}${id}/`, token, { status: 'closed', version: 1 })
  t.same([stale.response.status, stale.body.error?.code], [409, 'VERSION_CONFLICT'])
  const foreign = await send('PATCH', `${TICKETS}${id}/`, tokenFor(2, AGENT_T2), { status: 'closed' })
  t.same([foreign.response.status, foreign.body.error?.code], [404, 'NOT_FOUND'], 'another tenant cannot see it')
  const badAssignee = await send('POST', TICKETS, token, { title: 'x', assigned_to_id: AGENT_T2 })
  t.same([badAssignee.response.status, badAssignee.body.error?.code], [400, 'INVALID_ASSIGNEE'])
  const empty = await send('PATCH', `${TICKETS}${id}/`, token, {})
  t.equal(empty.response.status, 400)
})

t.test('people search returns the caller\'s tenant only, filtered by q', async (t) => {
  interface Found { id: number; username: string; email: string; first_name: string; last_name: string; bu: { id: number } }
  for (const tenant of [1, 2]) {
    const user = tenant === 1 ? AGENT_T1 : AGENT_T2
    const { response, body } = await get<{ results: Found[]; count: number }>('/api/v2/people/search/?limit=100', tokenFor(tenant, user))
    t.equal(response.status, 200)
    t.equal(response.headers.get('vary'), 'Accept')
    const ids = body.data.results.map((person) => person.id)
    const owners = await api.pool.query<{ client_id: number }>('SELECT DISTINCT client_id FROM peoples WHERE id = ANY($1)', [ids])
    t.same(owners.rows, [{ client_id: tenant }], `tenant ${tenant} sees only its people`)
  }
  const everyone = (await get<{ results: Found[] }>('/api/v2/people/search/?limit=100', tokenFor(1, AGENT_T1))).body.data.results
  const needle = everyone[3]?.last_name ?? 'x'
  const { body } = await get<{ results: Found[]; count: number }>(`/api/v2/people/search/?q=${needle.toLowerCase()}&limit=2`, tokenFor(1, AGENT_T1))
  t.ok(body.data.count >= 1 && body.data.count <= 2, 'limit applies')
  t.ok(body.data.results.every((person) => [person.username, person.email, person.first_name, person.last_name].some((field) => field.toLowerCase().includes(needle.toLowerCase()))))
})

t.test('attendance lists the caller\'s own punches and summarises a month', async (t) => {
  interface Punch { id: number; event_date: string; punch_in: string; punch_out: string | null; hours_worked: number | null }
  const token = tokenFor(2, AGENT_T2)
  const range = await get<{ results: Punch[]; count: number; start: string; end: string }>('/api/v2/attendance/?start=2025-11-17&end=2025-11-28', token)
  t.equal(range.response.status, 200)
  t.match(range.body.data, { start: '2025-11-17', end: '2025-11-28' })
  t.ok(range.body.data.count > 0)
  for (const punch of range.body.data.results) {
    t.ok(punch.event_date >= '2025-11-17' && punch.event_date <= '2025-11-28', `${punch.event_date} in range`)
    t.ok(punch.punch_in.startsWith(punch.event_date))
  }
  const owners = await api.pool.query('SELECT DISTINCT people_id FROM peopleeventlog WHERE id = ANY($1)', [range.body.data.results.map((punch) => punch.id)])
  t.same(owners.rows, [{ people_id: AGENT_T2 }], 'only the caller\'s own records')
  const summary = await get<Record<string, number>>('/api/v2/attendance/summary/?year=2025&month=11', token)
  t.match(summary.body.data, { year: 2025, month: 11, days_present: Number, total_hours: Number, late_arrivals: Number, average_hours: Number })
  const november = await get<{ count: number }>('/api/v2/attendance/?start=2025-11-01&end=2025-11-30', token)
  t.equal(summary.body.data['days_present'], november.body.data.count, 'the summary counts the same days the range lists')
  for (const bad of ['start=2025-02-30&end=2025-03-01', 'start=2025-11-28&end=2025-11-01', 'start=2020-01-01&end=2025-01-01']) {
    const { response, body } = await get(`/api/v2/attendance/?${bad}`, token)
    t.same([response.status, body.error?.code], [400, 'INVALID_RANGE'], bad)
  }
})

t.test('health, unknown paths and Django\'s trailing slashes', async (t) => {
  const health = await fetch(`${api.url}/healthz`)
  t.same([health.status, await health.json()], [200, { status: 'ok' }])
  const noSlash = await get(TICKETS.slice(0, -1), tokenFor(1, AGENT_T1))
  t.same([noSlash.response.status, noSlash.body.error?.code], [404, 'NOT_FOUND'])
  const echoed = await get(TICKETS, tokenFor(1, AGENT_T1), { headers: { 'x-correlation-id': 'abc-123' } })
  t.equal(echoed.body.meta.correlation_id, 'abc-123', 'the caller\'s correlation id is echoed')
})
