import t from 'tap'
import { startAdminHarness } from '../helpers/admin.js'
import { bearer } from '../helpers/tokens.js'

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)))
  return line ? Number(line.split(' ').at(-1)) : 0
}

t.test('Prometheus metrics move with traffic', async (t) => {
  const h = await startAdminHarness(t)
  const metrics = async () => (await h.admin('/metrics')).text()
  const before = await metrics()
  t.equal(sample(before, 'ccp_requests_total', 'route="tickets",cache="HIT",reason=""'), 0)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  for (let i = 0; i < 3; i++) await (await h.fetch('/api/v2/helpdesk/tickets/', { headers })).text()
  await (await h.fetch('/api/v2/helpdesk/tickets/')).text()
  const after = await metrics()
  t.equal(sample(after, 'ccp_requests_total', 'route="tickets",cache="MISS",reason="NOT-FOUND"'), 1)
  t.equal(sample(after, 'ccp_requests_total', 'route="tickets",cache="HIT",reason=""'), 2)
  t.equal(sample(after, 'ccp_requests_total', 'route="tickets",cache="BYPASS",reason="NO-IDENTITY"'), 1)
  t.equal(sample(after, 'ccp_upstream_fetches_total', 'route="tickets"'), 2)
  t.equal(sample(after, 'ccp_entries_stored_total', 'route="tickets",outcome="stored"'), 1)
  t.equal(sample(after, 'ccp_request_duration_seconds_count', 'route="tickets",cache="HIT"'), 2)
  t.equal(sample(after, 'ccp_upstream_duration_seconds_count', 'route="tickets"'), 2)
  t.match(after, /# TYPE ccp_commit_to_purge_seconds histogram/)
  t.match(after, /ccp_process_resident_memory_bytes/)
})
