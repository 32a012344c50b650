import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

t.test('tenant A never sees the entry of tenant B for the same URL', async (t) => {
  const h = await startHarness(t)
  const path = '/api/v2/people/search/?q=jo'
  const a1 = await (await h.fetch(path, { headers: bearer({ tenant: 'A', sub: 'u1' }) })).json()
  const b1 = await h.fetch(path, { headers: bearer({ tenant: 'B', sub: 'u1' }) })
  t.equal(b1.headers.get('x-cache'), 'MISS', 'another tenant misses')
  t.equal(((await b1.json()) as { tenant: string }).tenant, 'B')
  const a2 = await h.fetch(path, { headers: bearer({ tenant: 'A', sub: 'u9' }) })
  t.equal(a2.headers.get('x-cache'), 'HIT', 'people search is per tenant: any user of A hits')
  t.same(await a2.json(), a1)
})

t.test('a per-user route never serves one user the entry of another', async (t) => {
  const h = await startHarness(t)
  const path = '/api/v2/helpdesk/tickets/'
  await h.fetch(path, { headers: bearer({ tenant: 'A', sub: 'u1' }) })
  const other = await h.fetch(path, { headers: bearer({ tenant: 'A', sub: 'u2' }) })
  t.equal(other.headers.get('x-cache'), 'MISS')
  t.equal(((await other.json()) as { user: string }).user, 'u2')
  const same = await h.fetch(path, { headers: bearer({ tenant: 'A', sub: 'u1' }) })
  t.equal(same.headers.get('x-cache'), 'HIT')
  t.equal(((await same.json()) as { user: string }).user, 'u1')
})

t.test('numeric and string claims that print alike are the same tenant; others never collide', async (t) => {
  const h = await startHarness(t)
  const path = '/api/v2/people/search/?q=x'
  await h.fetch(path, { headers: bearer({ tenant: 42, sub: 1 }) })
  t.equal((await h.fetch(path, { headers: bearer({ tenant: '42', sub: 1 }) })).headers.get('x-cache'), 'HIT')
  for (const tenant of ['42 ', '042', '4', '42:', '*']) {
    const res = await h.fetch(path, { headers: bearer({ tenant, sub: 1 }) })
    t.not(res.headers.get('x-cache'), 'HIT', `tenant ${JSON.stringify(tenant)} does not share 42's entry`)
  }
})
