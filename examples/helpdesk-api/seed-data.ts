import { makeRandom, type Random } from './random.js'
import {
  BU_NAMES, CLIENT_NAMES, DESCRIPTION_SENTENCES, FIRST_NAMES, LAST_NAMES, TICKET_PLACES, TICKET_PROBLEMS,
} from './seed-vocabulary.js'

/**
 * A deterministic generator of helpdesk data: the same options give the same rows, ids and
 * timestamps everywhere, so benchmark payloads and demo commands are reproducible.
 */
export interface SeedOptions {
  readonly tenants: number
  readonly peoplePerTenant: number
  readonly ticketsPerTenant: number
  readonly attendanceDays: number
  readonly seed: number
  /** The last day of generated activity (YYYY-MM-DD). Fixed, not "today", for reproducibility. */
  readonly until: string
}

export const DEFAULT_SEED_OPTIONS: SeedOptions = Object.freeze({
  tenants: 3, peoplePerTenant: 50, ticketsPerTenant: 500, attendanceDays: 30, seed: 20251112, until: '2025-11-28',
})

/** The first people of each tenant are helpdesk agents: most tickets are assigned to them. */
export const AGENTS_PER_TENANT = 5

const DAY_MS = 86_400_000
const TICKET_HISTORY_DAYS = 60

export interface ClientRow { id: number; name: string }
export interface BuRow { id: number; client_id: number; name: string }
export interface PersonRow {
  id: number; client_id: number; bu_id: number; username: string; email: string
  first_name: string; last_name: string; is_active: boolean
}
export interface TicketRow {
  id: number; client_id: number; bu_id: number; reporter_id: number; assigned_to_id: number | null
  status: string; priority: string; title: string; description: string; created_at: string; updated_at: string
}
export interface EventRow {
  id: number; client_id: number; people_id: number; event_date: string; punch_in: string; punch_out: string | null
}

export interface SeedRows {
  readonly clients: ClientRow[]
  readonly bus: BuRow[]
  readonly people: PersonRow[]
  readonly tickets: TicketRow[]
  readonly events: EventRow[]
}

export function makeHelpdeskSeed(overrides: Partial<SeedOptions> = {}): SeedRows {
  const options = { ...DEFAULT_SEED_OPTIONS, ...overrides }
  const random = makeRandom(options.seed)
  const clients = makeClients(options.tenants)
  const bus = clients.flatMap((client) => makeBus(client))
  const people = clients.flatMap((client) => makePeople(random, client, options.peoplePerTenant))
  const tickets = makeTickets(random, people, options)
  const events = makeEvents(random, people, options)
  return { clients, bus, people, tickets, events }
}

function makeClients(count: number): ClientRow[] {
  return Array.from({ length: count }, (_, i) => {
    const base = CLIENT_NAMES[i % CLIENT_NAMES.length] ?? 'Client'
    const round = Math.floor(i / CLIENT_NAMES.length)
    return { id: i + 1, name: round === 0 ? base : `${base} ${round + 1}` }
  })
}

function makeBus(client: ClientRow): BuRow[] {
  return BU_NAMES.map((name, i) => ({ id: (client.id - 1) * BU_NAMES.length + i + 1, client_id: client.id, name }))
}

function makePeople(random: Random, client: ClientRow, count: number): PersonRow[] {
  const domain = client.name.toLowerCase().replace(/[^a-z0-9]+/g, '-') + '.example'
  return Array.from({ length: count }, (_, i) => {
    const id = (client.id - 1) * count + i + 1
    const first = random.pick(FIRST_NAMES)
    const last = random.pick(LAST_NAMES)
    // The id makes usernames unique across tenants, as Django's auth user requires.
    const username = `${first}.${last}${id}`.toLowerCase()
    const bu = (client.id - 1) * BU_NAMES.length + random.int(1, BU_NAMES.length)
    const isAgent = i < AGENTS_PER_TENANT
    return {
      id, client_id: client.id, bu_id: bu, username, email: `${username}@${domain}`,
      first_name: first, last_name: last, is_active: isAgent || random.chance(0.95),
    }
  })
}

function makeTickets(random: Random, people: readonly PersonRow[], options: SeedOptions): TicketRow[] {
  const untilMs = Date.parse(`${options.until}T18:00:00Z`)
  const drafts: Omit<TicketRow, 'id'>[] = []
  for (let tenant = 1; tenant <= options.tenants; tenant++) {
    const staff = people.filter((p) => p.client_id === tenant)
    for (let i = 0; i < options.ticketsPerTenant; i++) drafts.push(makeTicket(random, staff, untilMs))
  }
  // Ids grow with creation time across tenants, as an auto-increment key does in production.
  drafts.sort((a, b) => a.created_at.localeCompare(b.created_at))
  return drafts.map((draft, i) => ({ id: i + 1, ...draft }))
}

function makeTicket(random: Random, staff: readonly PersonRow[], untilMs: number): Omit<TicketRow, 'id'> {
  const reporter = random.pick(staff)
  const assignee = pickAssignee(random, staff)
  const createdMs = untilMs - random.int(0, TICKET_HISTORY_DAYS * 86_400) * 1000
  const updatedMs = Math.min(untilMs, createdMs + random.int(0, 3 * 86_400) * 1000)
  const place = random.pick(TICKET_PLACES)
  return {
    client_id: reporter.client_id, bu_id: reporter.bu_id, reporter_id: reporter.id,
    assigned_to_id: assignee?.id ?? null,
    status: assignee === undefined
      ? random.weighted([['new', 9], ['cancelled', 1]])
      : random.weighted([['open', 35], ['onhold', 10], ['resolved', 30], ['closed', 25]]),
    priority: random.weighted([['P1', 10], ['P2', 25], ['P3', 45], ['P4', 20]]),
    title: `${random.pick(TICKET_PROBLEMS)} ${place}`,
    description: makeDescription(random, place),
    created_at: new Date(createdMs).toISOString(),
    updated_at: new Date(updatedMs).toISOString(),
  }
}

function pickAssignee(random: Random, staff: readonly PersonRow[]): PersonRow | undefined {
  if (random.chance(0.15)) return undefined
  const agents = staff.slice(0, AGENTS_PER_TENANT)
  return random.chance(0.85) && agents.length > 0 ? random.pick(agents) : random.pick(staff)
}

function makeDescription(random: Random, place: string): string {
  const count = random.int(3, 5)
  const sentences = Array.from({ length: count }, () => random.pick(DESCRIPTION_SENTENCES))
  return `Issue observed ${place}. ${sentences.join(' ')}`
}

function makeEvents(random: Random, people: readonly PersonRow[], options: SeedOptions): EventRow[] {
  const untilDayMs = Date.parse(`${options.until}T00:00:00Z`)
  const events: Omit<EventRow, 'id'>[] = []
  for (let day = options.attendanceDays - 1; day >= 0; day--) {
    const dayMs = untilDayMs - day * DAY_MS
    const weekday = new Date(dayMs).getUTCDay()
    if (weekday === 0 || weekday === 6) continue
    for (const person of people) {
      if (!person.is_active || random.chance(0.06)) continue
      events.push(makeEvent(random, person, dayMs))
    }
  }
  return events.map((event, i) => ({ id: i + 1, ...event }))
}

function makeEvent(random: Random, person: PersonRow, dayMs: number): Omit<EventRow, 'id'> {
  // Punch-in between 08:30 and 09:45 UTC, so some arrivals count as late (after 09:15).
  const punchIn = dayMs + (8 * 60 + 30 + random.int(0, 75)) * 60_000 + random.int(0, 59) * 1000
  const punchOut = punchIn + random.int(450, 570) * 60_000
  return {
    client_id: person.client_id, people_id: person.id,
    event_date: new Date(dayMs).toISOString().slice(0, 10),
    punch_in: new Date(punchIn).toISOString(),
    // A few people forget to punch out: the API must cope with an open day.
    punch_out: random.chance(0.02) ? null : new Date(punchOut).toISOString(),
  }
}
