import t from 'tap'
import { makeManualClock } from '../../src/clock.js'
import { makeMemoryStore } from '../../src/store/memory-store.js'
import { runStoreContract } from '../helpers/store-contract.js'

const clock = makeManualClock()
runStoreContract(
  t,
  async () => makeMemoryStore({ maxEntries: 100, maxBytes: 1 << 20, stampTtlMs: 60_000, clock }),
  async (ms) => clock.advance(ms),
)

t.test('the memory store evicts the least recently used entry past its bounds', async (t) => {
  const store = makeMemoryStore({ maxEntries: 2, maxBytes: 1 << 20, stampTtlMs: 60_000, clock })
  const stamps = await store.acquireStamps([])
  const write = (key: string) => store.writeIfUnchanged({ key, tags: [], stamps, value: Buffer.from(key), ttlMs: 60_000 })
  await write('a')
  await write('b')
  await store.read('a', []) // a is now more recent than b
  await write('c')
  t.ok((await store.read('a', [])).entry)
  t.equal((await store.read('b', [])).entry, null)
  t.ok((await store.read('c', [])).entry)
})
