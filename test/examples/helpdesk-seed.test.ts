import t from 'tap'
import { AGENTS_PER_TENANT, DEFAULT_SEED_OPTIONS, makeHelpdeskSeed } from '../../examples/helpdesk-api/seed-data.js'

/**
 * The seed is the benchmark's payload source: it must be the same on every machine, sized as
 * documented, and internally consistent (no row refers to another tenant's people or units).
 */
t.test('the same options give the same rows; another seed gives other rows', async (t) => {
  const small = { tenants: 2, peoplePerTenant: 10, ticketsPerTenant: 40, attendanceDays: 7 }
  t.same(makeHelpdeskSeed(small), makeHelpdeskSeed(small))
  t.notSame(makeHelpdeskSeed(small).tickets, makeHelpdeskSeed({ ...small, seed: 1 }).tickets)
})

t.test('the default seed has the documented size', async (t) => {
  const rows = makeHelpdeskSeed()
  const { tenants, peoplePerTenant, ticketsPerTenant } = DEFAULT_SEED_OPTIONS
  t.equal(rows.clients.length, tenants)
  t.equal(rows.people.length, tenants * peoplePerTenant)
  t.equal(rows.tickets.length, tenants * ticketsPerTenant)
  // About 20 working days of 30, minus absences and inactive people.
  t.ok(rows.events.length > tenants * peoplePerTenant * 15 && rows.events.length < tenants * peoplePerTenant * 23, `${rows.events.length} punches`)
  t.equal(new Set(rows.people.map((p) => p.username)).size, rows.people.length, 'usernames are unique')
})

t.test('every reference stays inside its tenant, and agents carry most assignments', async (t) => {
  const rows = makeHelpdeskSeed()
  const tenantOfPerson = new Map(rows.people.map((p) => [p.id, p.client_id]))
  const tenantOfBu = new Map(rows.bus.map((b) => [b.id, b.client_id]))
  const foreign = rows.tickets.filter((ticket) =>
    tenantOfPerson.get(ticket.reporter_id) !== ticket.client_id || tenantOfBu.get(ticket.bu_id) !== ticket.client_id ||
    (ticket.assigned_to_id !== null && tenantOfPerson.get(ticket.assigned_to_id) !== ticket.client_id))
  t.same(foreign, [], 'tickets')
  t.same(rows.events.filter((event) => tenantOfPerson.get(event.people_id) !== event.client_id), [], 'punches')
  const isAgent = (id: number) => (id - 1) % DEFAULT_SEED_OPTIONS.peoplePerTenant < AGENTS_PER_TENANT
  const assigned = rows.tickets.filter((ticket) => ticket.assigned_to_id !== null)
  t.ok(assigned.filter((ticket) => isAgent(ticket.assigned_to_id ?? 0)).length > assigned.length * 0.8, 'agents handle most tickets')
  const ids = rows.tickets.map((ticket) => ticket.id)
  t.same(ids, ids.map((_, i) => i + 1), 'ticket ids are 1..n')
  const created = rows.tickets.map((ticket) => ticket.created_at)
  t.same(created, [...created].sort(), 'ids grow with creation time')
})
