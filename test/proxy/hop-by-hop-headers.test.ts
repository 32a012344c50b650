import t from 'tap'
import { startHarness } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-request.js'
import { bearer } from '../helpers/tokens.js'

/**
 * The upstream's connection management stops at the proxy (RFC 9110 section 7.6.1): its
 * Keep-Alive, Connection and the headers Connection names never reach the client, on a MISS,
 * a pass-through or a HIT; a client's `Connection: close` is honoured.
 */
t.test('hop-by-hop headers of the upstream are not passed on', async (t) => {
  const h = await startHarness(t, { routes: 'routes:\n  - { name: r, path: /r/, ttl: 1m, scope: tenant }\n' })
  h.origin.respond = () => ({ headers: { 'content-type': 'text/plain', connection: 'keep-alive, x-hop', 'keep-alive': 'timeout=5', 'x-hop': 'secret-of-the-link', 'x-end': 'kept' }, body: 'hello' })
  const auth = bearer({ tenant: 't1', sub: 'u1' })
  for (const [what, target, headers] of [['MISS', '/r/', auth], ['HIT', '/r/', auth], ['pass-through', '/elsewhere', {}]] as const) {
    const res = await rawRequest(h.url, target, { headers: { ...headers, connection: 'close' } })
    t.equal(res.body.toString(), 'hello', what)
    if (what !== 'pass-through') t.equal(res.headers['x-cache'], what)
    t.equal(res.headers['x-hop'], undefined, `${what}: a header the upstream's Connection names stops here`)
    t.not(res.headers['keep-alive'], 'timeout=5', `${what}: not the upstream's Keep-Alive`)
    t.equal(res.headers['connection'], 'close', `${what}: the client's Connection: close is honoured`)
    t.equal(res.headers['x-end'], 'kept', `${what}: end-to-end headers pass`)
  }
})
