import type { Test } from 'tap'
import type { CacheStore } from '../../src/store/store.js'

/**
 * One contract every store passes (the undici cache-store habit). `makeStore` returns a
 * fresh, empty store; `expire` makes time pass for entries (real wait or fake clock).
 * Keys and tags follow the product's shape, which a clustered store relies on: a key starts
 * with its tenant (`1:k1`) and a tag names it as its second segment (`a:1`); one call touches
 * one tenant.
 */
export function runStoreContract(t: Test, makeStore: () => Promise<CacheStore>, expire: (ms: number) => Promise<void>): void {
  const value = Buffer.from('entry-bytes\u0000with-binary\xff')

  async function stored(store: CacheStore, key: string, tags: string[]): Promise<string[]> {
    const stamps = await store.acquireStamps(tags)
    t.ok(await store.writeIfUnchanged({ key, tags, stamps, value, ttlMs: 60_000 }), 'write accepted')
    return stamps
  }

  t.test('a missing entry reads as null with null stamps', async (t) => {
    const store = await makeStore()
    const read = await store.read('1:nope', ['a:1', 'b:1'])
    t.equal(read.entry, null)
    t.same(read.stamps, [null, null])
  })

  t.test('acquired stamps are stable until invalidated', async (t) => {
    const store = await makeStore()
    const first = await store.acquireStamps(['a:1', 'b:1'])
    t.same(await store.acquireStamps(['a:1', 'b:1']), first)
    t.equal(await store.invalidateTags(['a:1']), 1)
    const second = await store.acquireStamps(['a:1', 'b:1'])
    t.not(second[0], first[0], 'a deleted stamp is recreated with a new value')
    t.equal(second[1], first[1])
  })

  t.test('an entry reads back byte for byte with the stamps it was written with', async (t) => {
    const store = await makeStore()
    const stamps = await stored(store, '1:k1', ['a:1', '*'])
    const read = await store.read('1:k1', ['a:1', '*'])
    t.ok(read.entry?.equals(value))
    t.same(read.stamps, stamps)
  })

  t.test('a write is refused when a stamp changed after it was acquired (stale-set race)', async (t) => {
    const store = await makeStore()
    const stamps = await store.acquireStamps(['a:1'])
    await store.invalidateTags(['a:1'])
    t.notOk(await store.writeIfUnchanged({ key: '1:k2', tags: ['a:1'], stamps, value, ttlMs: 60_000 }))
    await store.acquireStamps(['a:1']) // another request recreates the stamp
    t.notOk(await store.writeIfUnchanged({ key: '1:k2', tags: ['a:1'], stamps, value, ttlMs: 60_000 }))
    t.equal((await store.read('1:k2', [])).entry, null)
  })

  t.test('invalidating one tag leaves entries of other tags readable with their stamps', async (t) => {
    const store = await makeStore()
    const s1 = await stored(store, '1:e1', ['t:1'])
    const s2 = await stored(store, '2:e2', ['t:2'])
    await store.invalidateTags(['t:1'])
    t.same((await store.read('1:e1', ['t:1'])).stamps, [null])
    t.same((await store.read('2:e2', ['t:2'])).stamps, s2)
    t.not(s1[0], null)
  })

  t.test('pattern invalidation deletes matching stamps only', async (t) => {
    const store = await makeStore()
    await store.acquireStamps(['people:1', 'tickets:1'])
    await store.acquireStamps(['people:2'])
    t.equal(await store.invalidateTagPattern('people:*'), 2)
    const one = await store.read('1:none', ['people:1', 'tickets:1'])
    const two = await store.read('2:none', ['people:2'])
    t.same([...one.stamps, ...two.stamps].map((s) => s !== null), [false, true, false])
  })

  t.test('the watermark never moves backwards', async (t) => {
    const store = await makeStore()
    t.equal(await store.readWatermark(), null)
    await store.writeWatermark(2000)
    await store.writeWatermark(1000)
    t.equal(await store.readWatermark(), 2000)
    t.equal((await store.read('x:k', [])).watermark, 2000)
  })

  t.test('entries expire after their ttl', async (t) => {
    const store = await makeStore()
    const stamps = await store.acquireStamps(['a:1'])
    t.ok(await store.writeIfUnchanged({ key: '1:short', tags: ['a:1'], stamps, value, ttlMs: 50 }))
    await expire(120)
    t.equal((await store.read('1:short', [])).entry, null)
  })

  t.test('acquireStampsAndLock returns the same stamps and takes the lock once', async (t) => {
    const store = await makeStore()
    const first = await store.acquireStampsAndLock(['a:1'], { key: '1:k', ttlMs: 60_000 })
    t.ok(first.locked)
    t.same(first.stamps, await store.acquireStamps(['a:1']))
    const second = await store.acquireStampsAndLock(['a:1'], { key: '1:k', ttlMs: 60_000 })
    t.notOk(second.locked, 'held by the first')
    t.notOk(await store.tryLock('1:k', 60_000))
    await store.endFill('1:k')
    t.ok(await store.tryLock('1:k', 60_000))
  })

  t.test('a read that misses takes the stamps and the lock in the same call', async (t) => {
    const store = await makeStore()
    const read = await store.read('1:cold', ['a:1', 'b:1'], { lock: { key: '1:cold', ttlMs: 60_000 } })
    t.equal(read.entry, null)
    t.same(read.stamps, [null, null], 'the stamps as they were found')
    t.ok(read.acquired?.locked, 'the lock is taken')
    t.same(read.acquired?.stamps, await store.acquireStamps(['a:1', 'b:1']), 'the stamps were created')
    t.notOk(await store.tryLock('1:cold', 60_000), 'held by the read')
    const again = await store.read('1:cold', ['a:1', 'b:1'], { lock: { key: '1:cold', ttlMs: 60_000 } })
    t.same(again.acquired?.stamps, read.acquired?.stamps)
    t.equal(again.acquired?.locked, false, 'a second reader does not get the lock')
    const noLock = await store.read('1:other', ['a:1'], {})
    t.same(noLock.acquired, { stamps: [read.acquired?.stamps[0]], locked: false }, 'stamps without a lock')
    t.ok(await store.tryLock('1:other', 60_000), 'no lock was asked for')
  })

  t.test('a read that misses and finds the lock taken marks the fill awaited, as acquireStampsAndLock does', async (t) => {
    const store = await makeStore()
    const fills = await listenForFills(t, store)
    const first = await store.read('1:waited', ['a:1'], { lock: { key: '1:waited', ttlMs: 60_000 } })
    t.ok(first.acquired?.locked)
    t.equal((await store.read('1:waited', ['a:1'], { lock: { key: '1:waited', ttlMs: 60_000 } })).acquired?.locked, false)
    const quiet = await store.read('1:unwaited', ['a:1'], { lock: { key: '1:unwaited', ttlMs: 60_000 } })
    t.ok(quiet.acquired?.locked)
    await store.endFill('1:unwaited')
    await store.endFill('1:waited')
    await fills.until(['1:waited'])
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(fills.announced, ['1:waited'], 'only the fill another read found taken was announced')
  })

  t.test('a plain read never creates anything', async (t) => {
    const store = await makeStore()
    const read = await store.read('1:plain', ['a:1'])
    t.equal(read.acquired, undefined)
    t.same((await store.read('1:plain', ['a:1'])).stamps, [null])
    t.ok(await store.tryLock('1:plain', 60_000))
  })

  t.test('a read that finds the entry and every stamp acquires nothing', async (t) => {
    const store = await makeStore()
    const stamps = await stored(store, '1:warm', ['a:1'])
    const read = await store.read('1:warm', ['a:1'], { lock: { key: '1:warm', ttlMs: 60_000 } })
    t.ok(read.entry?.equals(value))
    t.same(read.stamps, stamps)
    t.equal(read.acquired, undefined)
    t.ok(await store.tryLock('1:warm', 60_000), 'the lock was left alone')
  })

  t.test('a read that finds the entry but a stamp missing keeps the others and creates that one', async (t) => {
    const store = await makeStore()
    const stamps = await stored(store, '1:half', ['a:1', 'b:1'])
    await store.invalidateTags(['b:1'])
    const read = await store.read('1:half', ['a:1', 'b:1'], {})
    t.ok(read.entry?.equals(value), 'the entry is returned: what it means is the caller\'s policy')
    t.same(read.stamps, [stamps[0], null])
    t.equal(read.acquired?.stamps[0], stamps[0])
    t.not(read.acquired?.stamps[1], stamps[1])
    t.same(read.acquired?.stamps, await store.acquireStamps(['a:1', 'b:1']))
  })

  /** Collects announced fills; `until` waits for an expected list (pub/sub keeps one publisher's order). */
  async function listenForFills(t: Test, store: CacheStore) {
    const announced: string[] = []
    t.teardown(store.onFill((key) => announced.push(key)))
    await new Promise((resolve) => setTimeout(resolve, 100)) // the subscription is in place
    return {
      announced,
      async until(expected: string[]): Promise<void> {
        const deadline = Date.now() + 2000
        while (announced.length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      },
    }
  }

  /** Takes the lock of `key` for a fill, then has another fetch find it taken (which marks it awaited). */
  async function awaitedFill(store: CacheStore, key: string): Promise<string[]> {
    const first = await store.acquireStampsAndLock(['a:1'], { key, ttlMs: 60_000 })
    t.ok(first.locked, `${key}: the lock taken`)
    t.notOk((await store.acquireStampsAndLock(['a:1'], { key, ttlMs: 60_000 })).locked, `${key}: another fetch finds it taken, and waits`)
    return first.stamps
  }

  t.test('a write that ends a fill releases the lock and announces an awaited fill, accepted or refused', async (t) => {
    const store = await makeStore()
    const fills = await listenForFills(t, store)
    const stamps = await awaitedFill(store, '1:fill')
    t.ok(await store.writeIfUnchanged({ key: '1:fill', tags: ['a:1'], stamps, value, ttlMs: 60_000, endsFillOf: '1:fill' }))
    t.ok(await store.tryLock('1:fill', 60_000), 'the lock was released by the write')
    await store.endFill('1:fill')

    const second = await awaitedFill(store, '1:fill2')
    await store.invalidateTags(['a:1'])
    t.notOk(await store.writeIfUnchanged({ key: '1:fill2;vary', tags: ['a:1'], stamps: second, value, ttlMs: 60_000, endsFillOf: '1:fill2' }), 'refused: a stamp changed')
    t.ok(await store.tryLock('1:fill2', 60_000), 'released all the same')
    await fills.until(['1:fill', '1:fill2'])
    t.same(fills.announced, ['1:fill', '1:fill2'], 'both fills announced, under the request\'s key')

    await store.acquireStampsAndLock(['a:1'], { key: '1:plain', ttlMs: 60_000 })
    t.ok(await store.writeIfUnchanged({ key: '1:plain', tags: ['a:1'], stamps: await store.acquireStamps(['a:1']), value, ttlMs: 60_000 }))
    t.notOk(await store.tryLock('1:plain', 60_000), 'a write that ends no fill leaves the lock')
  })

  t.test('a fill nobody waited on is not announced; endFill announces an awaited one', async (t) => {
    const store = await makeStore()
    const fills = await listenForFills(t, store)
    const quiet = await store.acquireStampsAndLock(['a:1'], { key: '1:quiet', ttlMs: 60_000 })
    t.ok(await store.writeIfUnchanged({ key: '1:quiet', tags: ['a:1'], stamps: quiet.stamps, value, ttlMs: 60_000, endsFillOf: '1:quiet' }))
    t.ok(await store.tryLock('1:quiet', 60_000), 'released by the write')
    await store.endFill('1:quiet') // again nobody waits: released, not announced
    t.ok(await store.tryLock('1:quiet', 60_000), 'released by endFill')
    await awaitedFill(store, '1:ended')
    await store.endFill('1:ended')
    t.ok(await store.tryLock('1:ended', 60_000), 'released by endFill')
    await fills.until(['1:ended'])
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(fills.announced, ['1:ended'], 'only the awaited fill was announced')
  })

  t.test('deleteEntry removes one entry', async (t) => {
    const store = await makeStore()
    await stored(store, '1:gone', ['a:1'])
    await store.deleteEntry('1:gone')
    t.equal((await store.read('1:gone', [])).entry, null)
  })
}
