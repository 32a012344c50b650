import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { startAdminHarness, seriesValue as series } from '../helpers/admin.js'

t.test('a route added by a reload gets its counters at zero; the reload is counted once', async (t) => {
  const h = await startAdminHarness(t)
  const metrics = async () => (await h.admin('/metrics')).text()
  t.equal(series(await metrics(), 'ccp_coalesced_waits_total', 'route="added",outcome="timeout"'), undefined, 'not a route yet')

  const original = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, original.replace('routes:\n', 'routes:\n  - { name: added, path: /api/v2/added/, ttl: 1m, scope: tenant }\n'))
  t.same(await (await h.admin('/config/reload', { method: 'POST' })).json(), { reloaded: true, pendingRestart: [] })

  const text = await metrics()
  t.equal(series(text, 'ccp_coalesced_waits_total', 'route="added",outcome="timeout"'), 0)
  t.equal(series(text, 'ccp_entries_stored_total', 'route="added",outcome="too-large"'), 0)
  t.equal(series(text, 'ccp_upstream_fetches_total', 'route="added"'), 0)
  t.equal(series(text, 'ccp_config_reloads_total', 'result="applied"'), 1)
  t.equal(series(text, 'ccp_config_reloads_total', 'result="rejected"'), 0)
})
