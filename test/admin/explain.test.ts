import t from 'tap'
import { startAdminHarness } from '../helpers/admin.js'
import { makeToken } from '../helpers/tokens.js'

const invalidation = `invalidation:
  database: postgres://unused@127.0.0.1:1/x
  slot: explain_test
  publication: explain_test
  tables:
    y_helpdesk_ticket: ["tickets:{client_id}:{reporter_id}", "tickets:{client_id}:{assigned_to_id}"]
    peoples: ["people:{client_id}", "tickets:{client_id}"]
    peopleeventlog: ["attendance:{client_id}:{people_id}"]
`

t.test('explain shows route, identity, key, tags or the bypass reason', async (t) => {
  const h = await startAdminHarness(t)
  const token = makeToken({ tenant: '42', sub: '7' })
  const res = await h.admin(`/explain?url=${encodeURIComponent('/api/v2/helpdesk/tickets/?status=open&page=2')}`, { headers: { 'x-explain-authorization': `Bearer ${token}` } })
  const body = await res.json() as { key: string }
  t.match(body, { route: 'tickets', action: 'lookup', identity: { tenant: '42', user: '7' }, scope: 'user', canonicalQuery: [['page', '2'], ['status', 'open']] })
  t.match(body, { tags: ['tickets:42:7', 'tickets:42:*', 'tickets:*', 'tickets:42', '@route:tickets:42', '@route:tickets:*', '@route:*', '*'] })
  t.match(body.key, new RegExp(`^${h.keyPrefix}e:42:tickets:`))
  const anonymous = await (await h.admin(`/explain?url=${encodeURIComponent('/api/v2/people/search/?q=a')}`)).json()
  t.match(anonymous, { route: 'people-search', action: 'bypass', reason: 'NO-IDENTITY' })
  const unrouted = await (await h.admin('/explain?url=/other/')).json()
  t.match(unrouted, { route: null, action: 'pass' })
})

t.test('explain says which check refused a token, in words, without echoing it', async (t) => {
  const h = await startAdminHarness(t)
  const explain = async (claims: Record<string, unknown>) => {
    const token = makeToken(claims)
    const body = await (await h.admin(`/explain?url=${encodeURIComponent('/api/v2/people/search/?q=a')}`, { headers: { 'x-explain-authorization': `Bearer ${token}` } })).json() as { detail?: string }
    t.notMatch(JSON.stringify(body), token, 'the token is not echoed')
    return body
  }
  t.match(await explain({ tenant: '42', sub: '7', exp: Math.floor(Date.now() / 1000) - 3600 }), { action: 'bypass', reason: 'INVALID-TOKEN', detail: /expired/ })
  t.match(await explain({ tenant: '42', sub: '7', aud: 'billing' }), { reason: 'INVALID-TOKEN', detail: 'the token has an aud claim and no audience is configured' })
  t.match(await explain({ tenant: '42' }), { reason: 'INVALID-TOKEN', detail: /sub/ })
  t.match(await explain({ tenant: ['42'], sub: '7' }), { reason: 'INVALID-TOKEN', detail: 'the tenant claim "tenant" is not a string or a safe integer' })
})

t.test('explain/row shows which tags a row change would purge', async (t) => {
  const h = await startAdminHarness(t, { extra: invalidation })
  const post = (body: unknown) => h.admin('/explain/row', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.same(await (await post({ table: 'y_helpdesk_ticket', row: { client_id: 42, reporter_id: 7, assigned_to_id: 9 } })).json(), { ok: true, table: 'public.y_helpdesk_ticket', tags: ['tickets:42:7', 'tickets:42:9'] })
  t.same((await (await post({ table: 'y_helpdesk_ticket', row: { client_id: 42, reporter_id: 7, assigned_to_id: null } })).json() as { tags: string[] }).tags, ['tickets:42:7'])
  t.same((await (await post({ table: 'y_helpdesk_ticket', row: { client_id: 42 } })).json() as { tags: string[] }).tags, ['tickets:42:*'], 'missing columns widen')
  t.same((await (await post({ table: 'peoples', row: { client_id: 42 }, old: { client_id: 41 } })).json() as { tags: string[] }).tags, ['people:42', 'tickets:42', 'people:41', 'tickets:41'])
  t.equal((await post({ table: 'nope', row: {} })).status, 400)
})
