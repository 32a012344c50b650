import t from 'tap'
import { makeInvalidationFeed } from '../../src/store/invalidation-feed.js'
import type { RedisChannels } from '../../src/store/redis-channels.js'
import type { InvalidationEvent } from '../../src/store/store.js'

/** A pub/sub bus in memory that can lose messages, like Redis pub/sub (at most once). */
function makeBus() {
  const subscribers = new Map<string, Set<(message: string) => void>>()
  const resets = new Set<() => void>()
  let dropNext = 0
  const connect = (): RedisChannels => ({
    publish: async (channel, message) => {
      if (dropNext > 0) { dropNext--; return }
      for (const listener of subscribers.get(channel) ?? []) listener(message)
    },
    subscribe: (channel, listener) => {
      const set = subscribers.get(channel) ?? new Set()
      subscribers.set(channel, set)
      set.add(listener)
      return () => set.delete(listener)
    },
    onReset: (listener) => { resets.add(listener); return () => resets.delete(listener) },
    close: () => {},
  })
  return { connect, drop: (n: number) => { dropNext += n }, reconnect: () => { for (const r of resets) r() } }
}

t.test('a lost message is reported as a reset before the next one from the same publisher', async (t) => {
  const bus = makeBus()
  const leader = makeInvalidationFeed(bus.connect(), 'inv')
  const replica = makeInvalidationFeed(bus.connect(), 'inv')
  const heard: InvalidationEvent[] = []
  replica.subscribe((event) => heard.push(event))
  await leader.publish({ kind: 'tags', tags: ['a:1'] })
  bus.drop(1)
  await leader.publish({ kind: 'tags', tags: ['a:2'] })
  await leader.publish({ kind: 'watermark', ms: 5 })
  t.same(heard, [{ kind: 'tags', tags: ['a:1'] }, { kind: 'reset' }, { kind: 'watermark', ms: 5 }])
})

t.test('publishers are told apart; a new publisher is no gap; a reconnect is a reset', async (t) => {
  const bus = makeBus()
  const a = makeInvalidationFeed(bus.connect(), 'inv')
  const b = makeInvalidationFeed(bus.connect(), 'inv')
  const replica = makeInvalidationFeed(bus.connect(), 'inv')
  const heard: InvalidationEvent[] = []
  replica.subscribe((event) => heard.push(event))
  await a.publish({ kind: 'watermark', ms: 1 })
  await b.publish({ kind: 'tags', tags: ['x:1'] })
  await a.publish({ kind: 'watermark', ms: 2 })
  t.same(heard.map((e) => e.kind), ['watermark', 'tags', 'watermark'], 'interleaved publishers: no false gap')
  bus.reconnect()
  t.same(heard.at(-1), { kind: 'reset' })
})

t.test('the publishing process hears its own events at once, and only once', async (t) => {
  const bus = makeBus()
  const feed = makeInvalidationFeed(bus.connect(), 'inv')
  const heard: InvalidationEvent[] = []
  feed.subscribe((event) => heard.push(event))
  bus.drop(1)
  const published = feed.publish({ kind: 'tags', tags: ['a:1'] })
  t.same(heard, [{ kind: 'tags', tags: ['a:1'] }], 'before the publish resolves, even if the bus loses it')
  await published
  await feed.publish({ kind: 'watermark', ms: 1 })
  t.same(heard.map((e) => e.kind), ['tags', 'watermark'], 'its own echo is not delivered twice')
})
