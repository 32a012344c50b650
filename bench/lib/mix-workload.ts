import { makeRandom, type Random } from '../../examples/helpdesk-api/random.js'
import { makeZipf, type Zipf } from './zipf.js'

/**
 * The realistic mix's read side: tenants and, within a tenant, users are Zipf-distributed
 * (a user's rank is a fixed shuffle, so agents are not always the hottest), and so are the
 * query variants of each of the three cached routes.
 */
export type RouteName = 'tickets' | 'people-search' | 'attendance'

export interface MixRequest { readonly route: RouteName; readonly tenant: number; readonly user: number; readonly path: string }

export interface Population { readonly tenants: number; readonly peoplePerTenant: number }

export const ROUTE_WEIGHTS: readonly (readonly [RouteName, number])[] = [['tickets', 0.5], ['people-search', 0.2], ['attendance', 0.3]]

const TICKET_QUERIES = ['', '&status=open', '&page=2', '&status=new', '&priority=P1', '&status=onhold', '&status=resolved', '&page=3']
  .map((q) => `/api/v2/helpdesk/tickets/?limit=20${q}`)
const PEOPLE_QUERIES = ['', ...'aeinorstlmcdhbgkpuvwyzfjqx']
  .map((q) => `/api/v2/people/search/?q=${q}&limit=20`)
const ATTENDANCE_QUERIES = [
  '/api/v2/attendance/?start=2025-11-22&end=2025-11-28', '/api/v2/attendance/summary/?year=2025&month=11',
  '/api/v2/attendance/?start=2025-11-01&end=2025-11-28', '/api/v2/attendance/summary/?year=2025&month=10',
]

export interface MixWorkload {
  nextRequest(): MixRequest
  /** A Zipf-chosen (tenant, person id), the same distribution the reads use. */
  nextUser(): { tenant: number; user: number }
}

export function makeMixWorkload(population: Population, seed: number): MixWorkload {
  const random = makeRandom(seed)
  const tenants = makeZipf(population.tenants, 0.8, random)
  const users = makeZipf(population.peoplePerTenant, 1.0, random)
  const ranks = Array.from({ length: population.tenants }, () => shuffled(population.peoplePerTenant, random))
  const queries = { tickets: makeZipf(TICKET_QUERIES.length, 1.2, random), people: makeZipf(PEOPLE_QUERIES.length, 1.0, random), attendance: makeZipf(ATTENDANCE_QUERIES.length, 1.0, random) }
  const nextUser = (): { tenant: number; user: number } => {
    const tenant = tenants.sample() + 1
    const index = ranks[tenant - 1]?.[users.sample()] ?? 0
    return { tenant, user: (tenant - 1) * population.peoplePerTenant + index + 1 }
  }
  return {
    nextUser,
    nextRequest() {
      const route = random.weighted(ROUTE_WEIGHTS)
      const { tenant, user } = nextUser()
      return { route, tenant, user, path: pickPath(route, queries) }
    },
  }
}

function pickPath(route: RouteName, queries: { tickets: Zipf; people: Zipf; attendance: Zipf }): string {
  if (route === 'tickets') return TICKET_QUERIES[queries.tickets.sample()] as string
  if (route === 'people-search') return PEOPLE_QUERIES[queries.people.sample()] as string
  return ATTENDANCE_QUERIES[queries.attendance.sample()] as string
}

function shuffled(n: number, random: Random): number[] {
  const items = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(0, i)
    const swap = items[i] as number
    items[i] = items[j] as number
    items[j] = swap
  }
  return items
}
