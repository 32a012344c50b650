import t from 'tap'
import { startAdminHarness } from '../helpers/admin.js'
import { bearer } from '../helpers/tokens.js'

const tickets = '/api/v2/helpdesk/tickets/'
const people = '/api/v2/people/search/'

t.test('purge by tags, by pattern and by route+tenant, seen through the proxy', async (t) => {
  const h = await startAdminHarness(t)
  const a = bearer({ tenant: 'A', sub: 'u1' })
  const b = bearer({ tenant: 'B', sub: 'u1' })
  const warm = async () => { for (const headers of [a, b]) for (const p of [tickets, people]) await h.fetch(p, { headers }) }
  const state = async () => Promise.all([a, b].flatMap((headers) => [tickets, people].map(async (p) => (await h.fetch(p, { headers })).headers.get('x-cache'))))
  await warm()
  t.same(await state(), ['HIT', 'HIT', 'HIT', 'HIT'])

  const byTag = await h.admin('/purge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tags: ['tickets:A:u1'] }) })
  t.match(await byTag.json(), { purged: 'tags', stampsDeleted: 1 })
  t.same(await state(), ['MISS', 'HIT', 'HIT', 'HIT'])

  const byPattern = await h.admin('/purge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pattern: 'people:*' }) })
  t.match(await byPattern.json(), { purged: 'pattern' })
  t.same(await state(), ['HIT', 'MISS', 'HIT', 'MISS'])

  const byRoute = await h.admin('/purge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ route: 'tickets', tenant: 'B' }) })
  t.match(await byRoute.json(), { purged: 'route', stampsDeleted: 1 })
  t.same(await state(), ['HIT', 'HIT', 'MISS', 'HIT'])

  const bad = await h.admin('/purge', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ route: 'nope' }) })
  t.equal(bad.status, 400)
})
