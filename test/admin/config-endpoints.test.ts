import t from 'tap'
import { readFile } from 'node:fs/promises'
import { startAdminHarness, ADMIN_TOKEN } from '../helpers/admin.js'
import { JWT_SECRET } from '../helpers/tokens.js'

t.test('GET /config redacts secrets; validate and reload report problems', async (t) => {
  const h = await startAdminHarness(t)
  const text = await (await h.admin('/config')).text()
  t.notMatch(text, JWT_SECRET)
  t.notMatch(text, ADMIN_TOKEN)
  t.match(JSON.parse(text), { routes: [{ name: 'tickets' }, { name: 'people-search' }, { name: 'attendance' }] })

  const original = await readFile(h.configFile, 'utf8')
  const valid = await h.admin('/config/validate', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: original })
  t.same(await valid.json(), { valid: true, problems: [] })
  const invalid = await h.admin('/config/validate', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: original.replace('ttl: 5m', 'ttl: soon') })
  t.match(await invalid.json(), { valid: false, problems: [/routes\[0\]\.ttl: is not a duration/] })

  const reloaded = await h.admin('/config/reload', { method: 'POST' })
  t.same(await reloaded.json(), { reloaded: true, pendingRestart: [] })
})

t.test('readyz says which check failed', async (t) => {
  const h = await startAdminHarness(t)
  const ready = await fetch(`${h.proxy.adminUrl}/readyz`)
  t.equal(ready.status, 200)
  t.match(await ready.json(), { ready: true, checks: { upstream: { ok: true }, store: { ok: true } } })
  await h.origin.close()
  const notReady = await fetch(`${h.proxy.adminUrl}/readyz`)
  t.equal(notReady.status, 503)
  t.match(await notReady.json(), { ready: false, checks: { upstream: { ok: false }, store: { ok: true } } })
})
