import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=reload'
// No listener is started by a reload: its freshness bound would find no watermark, ever.
const invalidation = 'invalidation:\n  database: postgres://nobody@127.0.0.1:1/none\n  slot: reload_test\n  publication: reload_test\n  freshnessBound: 5s\n  tables:\n    peoples: ["people:{client_id}"]\n'

t.test('an invalidation section added by a reload waits for a restart: requests keep caching on TTLs', async (t) => {
  const h = await startHarness(t)
  const original = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, `${original}\n${invalidation}`)
  t.ok((await h.proxy.reload()).ok)
  t.same(h.proxy.holder.current().pendingRestart, ['invalidation'])

  const first = await h.fetch(path, { headers })
  await first.arrayBuffer()
  t.equal(first.headers.get('x-cache'), 'MISS', `not bypassed (cache-status: ${first.headers.get('cache-status')})`)
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
  t.equal(h.origin.count('GET', path), 1, 'the upstream asked once')
})
