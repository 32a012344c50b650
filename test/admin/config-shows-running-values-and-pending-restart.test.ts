import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { startAdminHarness } from '../helpers/admin.js'

interface ConfigBody { store: { keyPrefix: string }; routes: Array<{ name: string; ttlMs: number }>; pendingRestart: string[] }

t.test('after a reload, GET /config shows the key prefix in use, the new route TTL, and the prefix change as pending a restart', async (t) => {
  const h = await startAdminHarness(t)
  const config = async () => (await h.admin('/config')).json() as Promise<ConfigBody>
  t.same((await config()).pendingRestart, [], 'nothing pending at start')

  const original = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, original.replace(h.keyPrefix, 'edited-prefix:').replace('ttl: 5m', 'ttl: 7m'))
  t.same(await (await h.admin('/config/reload', { method: 'POST' })).json(), { reloaded: true, pendingRestart: ['store.keyPrefix'] }, 'the reload says what waits for a restart')

  const shown = await config()
  t.equal(shown.store.keyPrefix, h.keyPrefix, 'the prefix the store was made with')
  t.equal(shown.routes.find((r) => r.name === 'tickets')?.ttlMs, 420_000, 'the route change applies')
  t.same(shown.pendingRestart, ['store.keyPrefix'])
})
