import t from 'tap'
import { startAdminHarness, ADMIN_TOKEN } from '../helpers/admin.js'

t.test('every admin endpoint but the probes needs the token; none is on the proxy port', async (t) => {
  const h = await startAdminHarness(t)
  const adminUrl = h.proxy.adminUrl as string
  t.not(new URL(adminUrl).port, new URL(h.url).port)
  for (const [method, path] of [['GET', '/metrics'], ['POST', '/purge'], ['GET', '/config'], ['POST', '/config/validate'], ['POST', '/config/reload'], ['GET', '/explain?url=/'], ['POST', '/explain/row'], ['GET', '/status']] as const) {
    const none = await fetch(adminUrl + path, { method })
    t.equal(none.status, 401, `${method} ${path} without a token`)
    const wrong = await fetch(adminUrl + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })
    t.equal(wrong.status, 401, `${method} ${path} with a wrong token`)
  }
  t.equal((await fetch(`${adminUrl}/healthz`)).status, 200)
  const proxied = await h.fetch('/metrics')
  t.equal(h.origin.count('GET', '/metrics'), 1, 'the proxy port forwards /metrics to the upstream, never answers it')
  await proxied.arrayBuffer()
})

t.test('an admin token shorter than 16 characters is refused by the config', async (t) => {
  await t.rejects(startAdminHarness(t, { env: { ADMIN_TOKEN: 'short' } }), /admin\.token/)
})
