import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const auth = bearer({ tenant: 't1', sub: 'u1' })

t.test('a response that Varies on a request header is keyed by that header', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = (req) => ({ headers: { vary: 'Accept-Language', 'content-type': 'text/plain' }, body: `lang=${req.headers['accept-language']}` })
  const path = '/api/v2/people/search/?q=v'
  const en = await h.fetch(path, { headers: { ...auth, 'accept-language': 'en' } })
  t.equal(await en.text(), 'lang=en')
  const enAgain = await h.fetch(path, { headers: { ...auth, 'accept-language': 'en' } })
  t.equal(enAgain.headers.get('x-cache'), 'HIT')
  const fr = await h.fetch(path, { headers: { ...auth, 'accept-language': 'fr' } })
  t.equal(fr.headers.get('x-cache'), 'MISS')
  t.equal(await fr.text(), 'lang=fr')
  t.equal(await (await h.fetch(path, { headers: { ...auth, 'accept-language': 'fr' } })).text(), 'lang=fr')
  t.equal(await (await h.fetch(path, { headers: { ...auth, 'accept-language': 'en' } })).text(), 'lang=en')
})

t.test('request headers outside the key cannot change what another client of the key sees', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = (req) => ({ headers: { 'content-type': 'text/plain' }, body: `host=${req.headers['x-forwarded-host']} ua=${req.headers['user-agent'] === 'evil' ? 'evil' : 'ok'}` })
  const path = '/api/v2/people/search/?q=p'
  const first = await h.fetch(path, { headers: { ...auth, 'x-forwarded-host': 'evil.example', 'user-agent': 'ok' } })
  t.notMatch(await first.text(), /evil\.example/, 'X-Forwarded-Host is set by the proxy, never taken from the client')
})
