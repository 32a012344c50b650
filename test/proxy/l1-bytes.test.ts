import t from 'tap'
import { makeL1Cache } from '../../src/proxy/l1-cache.js'
import type { CachedResponse } from '../../src/request/cached-response.js'
import type { CacheStore } from '../../src/store/store.js'

/** What delivery keeps with an L1 copy (decoded bodies, header blocks) counts in L1's byte bound. */
const store = { onInvalidation: () => () => {} } as unknown as CacheStore

function response(size: number): CachedResponse {
  return { status: 200, headers: [], body: Buffer.alloc(size), storedAt: 0, expiresAt: 1e15, stamps: '', etag: '"e"', storedEncoding: 'gzip' }
}

t.test('attached extras count in the byte bound and evict older copies', async (t) => {
  const l1 = makeL1Cache(store, { maxEntries: 100, maxBytes: 80_000, maxAgeMs: 60_000 })
  for (const key of ['a', 'b', 'c']) l1.put(key, response(1000), ['tag'], l1.generation(), 0)
  t.equal(l1.bytes(), 3000)
  const a = l1.get('a', 1, undefined)
  t.ok(a)
  t.ok(l1.attach('a', a!, 'decoded', 9000), 'a decoded body is kept with its copy')
  t.equal(l1.bytes(), 12_000)
  t.notOk(l1.attach('b', l1.get('b', 1, undefined)!, 'too big', 10_000), 'not more than an eighth of the bound per copy')
  t.equal(l1.bytes(), 12_000)
  for (let i = 0; i < 7; i++) {
    const key = `x${i}`
    l1.put(key, response(1000), ['tag'], l1.generation(), 2)
    l1.attach(key, l1.get(key, 2, undefined)!, 'decoded', 9000)
  }
  t.ok(l1.bytes() <= 80_000, `within the bound (${l1.bytes()})`)
  t.equal(l1.get('a', 3, undefined), undefined, 'the least recently used copies went first')
  t.ok(l1.get('x6', 3, undefined))
  l1.close()
  t.equal(l1.bytes(), 0)
})

t.test('an extra replaced or removed with its copy gives its bytes back', async (t) => {
  const l1 = makeL1Cache(store, { maxEntries: 100, maxBytes: 80_000, maxAgeMs: 60_000 })
  l1.put('a', response(1000), ['tag'], l1.generation(), 0)
  const entry = l1.get('a', 1, undefined)!
  l1.attach('a', entry, 'one', 5000)
  l1.attach('a', entry, 'two', 2000)
  t.equal(l1.bytes(), 3000)
  l1.put('a', response(500), ['tag'], l1.generation(), 2)
  t.equal(l1.bytes(), 500, 'a new copy under the key starts without extras')
  t.notOk(l1.attach('a', entry, 'stale', 100), 'nothing is attached to a copy that is gone')
  l1.close()
})
