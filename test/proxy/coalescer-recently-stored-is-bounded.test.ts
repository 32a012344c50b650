import t from 'tap'
import { makeManualClock } from '../../src/clock.js'
import { makeCoalescer } from '../../src/proxy/coalescer.js'
import { makeMemoryStore } from '../../src/store/memory-store.js'
import type { CachedResponse } from '../../src/request/cached-response.js'

/**
 * The responses a coalescer keeps for a lookup that raced a fill (storedSince) are a moment's
 * worth: at most 256, at most 4 MiB of bodies, at most 2 s old. Every MISS stores a response,
 * so without the bounds a run of distinct misses would keep every body it ever fetched.
 */
function response(bytes: number): CachedResponse {
  return { status: 200, headers: [], body: Buffer.alloc(bytes), storedEncoding: 'identity', etag: '"e"', storedAt: 0, expiresAt: 1, stamps: '' }
}

function fill(coalescer: ReturnType<typeof makeCoalescer>, key: string, bytes: number): void {
  const joined = coalescer.join(key)
  if (joined.role !== 'leader') throw new Error('expected to lead')
  joined.flight.settle({ kind: 'stored', response: response(bytes) })
}

t.test('at most 256 responses, 4 MiB of bodies, 2 s', async (t) => {
  const clock = makeManualClock()
  const store = makeMemoryStore({ maxEntries: 10, maxBytes: 1 << 20, stampTtlMs: 60_000, clock })
  const coalescer = makeCoalescer(store, clock)
  t.teardown(() => { coalescer.close(); void store.close() })
  const since = clock.now()
  clock.advance(1)
  for (let i = 0; i < 300; i++) fill(coalescer, `k${i}`, 10)
  t.equal(coalescer.storedSince('k0', since), undefined, 'the oldest went beyond 256')
  t.equal(coalescer.storedSince('k43', since), undefined)
  t.ok(coalescer.storedSince('k44', since), 'the last 256 are there')
  t.ok(coalescer.storedSince('k299', since))

  for (let i = 0; i < 5; i++) fill(coalescer, `big${i}`, 1 << 20)
  t.equal(coalescer.storedSince('big0', since), undefined, 'beyond 4 MiB of bodies the oldest go')
  t.ok(coalescer.storedSince('big4', since))
  t.equal(coalescer.storedSince('k299', since), undefined, 'small ones older than the big ones too')

  clock.advance(2_001)
  t.equal(coalescer.storedSince('big4', since), undefined, 'past 2 s none is given')
  t.equal(coalescer.storedSince('big4', clock.now() + 1), undefined, 'nor to a request that started after the store')
})
