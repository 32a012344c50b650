import t from 'tap'
import fc from 'fast-check'
import { loadConfigText } from '../../src/config/load-config.js'
import { canonicalQuery } from '../../src/request/canonical-query.js'
import { makeCacheKey, makeEntryTags } from '../../src/request/key.js'
import { configText } from '../helpers/proxy.js'

const loaded = loadConfigText(configText({ keyPrefix: 'k:' }), 'cfg', { UPSTREAM_URL: 'http://u', REDIS_URL: 'redis://r', JWT_SECRET: 's' })
if (!loaded.ok) throw new Error('fixture config invalid')
const [tickets, people] = loaded.config.routes as [typeof loaded.config.routes[0], typeof loaded.config.routes[0]]

const nasty = fc.string({ unit: fc.constantFrom('a', 'b', ':', '*', '?', '[', ']', '{', '}', '%', '&', '=', '+', ' ', 'é', '\u0000', '/', '2', 'F') , maxLength: 12 })
const query = fc.array(fc.tuple(nasty, nasty), { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'))
const origin = fc.record({ proto: fc.constantFrom('http', 'https'), host: fc.constantFrom('api.example.com', 'api.example.com:8443', 'other.example') })
const request = fc.record({ tenant: nasty.filter((s) => s.length > 0), user: nasty.filter((s) => s.length > 0), query, scoped: fc.boolean(), origin })

function keyOf(r: { tenant: string; user: string; query: string; scoped: boolean; origin: { proto: string; host: string } }): string {
  const route = r.scoped ? tickets : people
  return makeCacheKey({ route, identity: { tenant: r.tenant, user: r.user }, host: 'h', origin: r.origin, pathname: route.path, query: canonicalQuery(r.query, route), varyNames: [], headers: {} })
}

t.test('two requests share a key only if route, identity scope, the client origin and canonical query say so', async (t) => {
  fc.assert(fc.property(request, request, (a, b) => {
    const same = keyOf(a) === keyOf(b)
    const route = a.scoped ? tickets : people
    const must = a.scoped === b.scoped && a.tenant === b.tenant && (!a.scoped || a.user === b.user)
      && a.origin.proto === b.origin.proto && a.origin.host === b.origin.host
      && JSON.stringify(canonicalQuery(a.query, route)) === JSON.stringify(canonicalQuery(b.query, route))
    return same === must
  }), { numRuns: 5000 })
  t.pass('no collision across tenants, users, origins or queries in 5000 random pairs')
})

t.test('a tenant or user value can never forge another tag or a wildcard', async (t) => {
  fc.assert(fc.property(nasty.filter((s) => s.length > 0), nasty.filter((s) => s.length > 0), nasty.filter((s) => s.length > 0), (tenant, user, other) => {
    const tags = makeEntryTags(tickets, { tenant, user }, {})
    const otherTags = makeEntryTags(tickets, { tenant: other, user }, {})
    const concrete = (list: string[]) => list.filter((x) => !x.endsWith('*') && !x.startsWith('@'))
    // Exactly two concrete tags, each with the expected number of segments.
    if (concrete(tags).length !== 2 || !concrete(tags).every((x) => [2, 3].includes(x.split(':').length))) return false
    return tenant === other || concrete(tags).every((x) => !otherTags.includes(x))
  }), { numRuns: 3000 })
  t.pass()
})
