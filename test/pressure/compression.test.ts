import t from 'tap'
import { request } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

const auth = bearer({ tenant: 't1', sub: 'u1' })
const path = '/api/v2/people/search/?q=big'

/** fetch() decodes gzip itself; this reads the bytes as they came over the wire. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
    }).on('error', reject).end()
  })
}

t.test('large bodies are stored gzip-compressed and served decoded or encoded, byte-identical once decoded', async (t) => {
  const h = await startHarness(t)
  const payload = Buffer.from(JSON.stringify({ results: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `person ${i}`, email: `p${i}@example.com` })) }))
  h.origin.respond = () => ({ headers: { 'content-type': 'application/json', vary: 'Accept' }, body: payload })
  await getRaw(h.url + path, auth)
  const identity = await getRaw(h.url + path, auth)
  t.equal(identity.headers['x-cache'], 'HIT')
  t.equal(identity.headers['content-encoding'], undefined)
  t.ok(identity.body.equals(payload), 'identity client: the exact upstream bytes')
  t.equal(identity.headers.vary, 'Accept, Accept-Encoding')
  const gzip = await getRaw(h.url + path, { ...auth, 'accept-encoding': 'gzip, br' })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.ok(gunzipSync(gzip.body).equals(payload), 'gzip client: decodes to the exact upstream bytes')
  t.ok(gzip.body.length < payload.length / 3)
  t.not(gzip.headers.etag, identity.headers.etag, 'each representation has its own strong validator')
  const refused = await getRaw(h.url + path, { ...auth, 'accept-encoding': 'gzip;q=0' })
  t.equal(refused.headers['content-encoding'], undefined)
  t.equal(h.origin.count('GET', path), 1)
})

t.test('small bodies and bodies the upstream already encoded are stored as they are', async (t) => {
  const h = await startHarness(t)
  h.origin.respond = () => ({ headers: { 'content-type': 'text/plain' }, body: 'tiny' })
  await getRaw(h.url + path, auth)
  const tiny = await getRaw(h.url + path, { ...auth, 'accept-encoding': 'gzip' })
  t.equal(tiny.headers['content-encoding'], undefined)
  t.equal(tiny.headers.vary, undefined)
  t.equal(tiny.body.toString(), 'tiny')
})
