import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const headers = bearer({ tenant: 't1', sub: 'u1' })

t.test('a valid edit is applied without a restart; a broken edit keeps the running config', async (t) => {
  const h = await startHarness(t)
  const original = await readFile(h.configFile, 'utf8')
  t.equal((await h.fetch('/api/v2/new/')).headers.get('x-cache'), null)

  await writeFile(h.configFile, original.replace('routes:\n', 'routes:\n  - { name: new, path: /api/v2/new/, ttl: 1m, scope: tenant }\n'))
  const applied = await h.proxy.reload()
  t.ok(applied.ok)
  await h.fetch('/api/v2/new/', { headers })
  t.equal((await h.fetch('/api/v2/new/', { headers })).headers.get('x-cache'), 'HIT', 'the new route caches')

  await writeFile(h.configFile, original.replace('ttl: 5m', 'ttl: five minutes'))
  const rejected = await h.proxy.reload()
  t.notOk(rejected.ok)
  t.equal((await h.fetch('/api/v2/new/', { headers })).headers.get('x-cache'), 'HIT', 'the running config stays')
  const reloads = await h.proxy.metrics.configReloads.get()
  t.same(Object.fromEntries(reloads.values.map((v) => [v.labels.result, v.value])), { applied: 1, rejected: 1 })
})

t.test('a request in flight finishes with the config it started with', async (t) => {
  const h = await startHarness(t)
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  h.origin.respond = async () => { await held; return { body: 'late' } }
  const inflight = h.fetch('/api/v2/people/search/', { headers })
  const original = await readFile(h.configFile, 'utf8')
  await writeFile(h.configFile, original.replace(/ {2}- name: people-search[\s\S]*?tags: \["people:\{tenant\}"\]\n/, ''))
  t.ok((await h.proxy.reload()).ok)
  release()
  const res = await inflight
  t.equal(res.headers.get('x-cache'), 'MISS', 'still handled as the cached route it matched')
  t.equal((await h.fetch('/api/v2/people/search/', { headers })).headers.get('x-cache'), null, 'new requests see the new config')
})
