import t from 'tap'
import { startAdminHarness, seriesValue as series } from '../helpers/admin.js'

const INVALIDATION = 'invalidation:\n  database: postgres://nobody@127.0.0.1:1/none\n  slot: series_test\n  publication: series_test\n  tables:\n    peoples: ["people:{client_id}"]\n    hr.staff: ["people:{client_id}"]\n'
const ROUTES = 'routes:\n  - { name: feed, path: /feed/, ttl: 1m, scope: tenant, staleWhileRevalidate: 30s }\n  - { name: uncoalesced, path: /once/, ttl: 1m, scope: tenant, coalesceWait: 0 }\n'

t.test('before any traffic or reload, /metrics lists the counters whose label values are known, at zero', async (t) => {
  const h = await startAdminHarness(t, { routes: ROUTES, extra: INVALIDATION })
  const text = await (await h.admin('/metrics')).text()
  const zero = (name: string, labels: string) => t.equal(series(text, name, labels), 0, `${name}{${labels}}`)
  for (const result of ['applied', 'rejected']) zero('ccp_config_reloads_total', `result="${result}"`)
  for (const op of ['read', 'acquireStamps', 'write', 'endFill', 'tryLock', 'deleteEntry']) zero('ccp_store_errors_total', `op="${op}"`)
  for (const code of ['CCP_UPSTREAM_UNREACHABLE', 'CCP_UPSTREAM_TIMEOUT']) zero('ccp_upstream_errors_total', `code="${code}"`)
  for (const outcome of ['stored', 'pass', 'timeout', 'remote-hit', 'remote-miss']) zero('ccp_coalesced_waits_total', `route="feed",outcome="${outcome}"`)
  for (const outcome of ['stored', 'refused-race', 'too-large', 'incomplete', 'error']) zero('ccp_entries_stored_total', `route="uncoalesced",outcome="${outcome}"`)
  for (const outcome of ['stored', 'pass']) zero('ccp_background_refreshes_total', `route="feed",outcome="${outcome}"`)
  zero('ccp_upstream_fetches_total', 'route="uncoalesced"')
  for (const table of ['public.peoples', 'hr.staff']) zero('ccp_invalidations_total', `table="${table}"`)
  t.equal(series(text, 'ccp_coalesced_waits_total', 'route="uncoalesced",outcome="timeout"'), undefined, 'no coalescing series for a route that does not coalesce')
  t.equal(series(text, 'ccp_background_refreshes_total', 'route="uncoalesced",outcome="stored"'), undefined, 'no refresh series for a route without staleWhileRevalidate')
})
