import type { InvalidationEvent } from './store.js'
import type { RedisChannels } from './redis-channels.js'
import { makeStamp } from './stamp.js'

type Listener = (event: InvalidationEvent) => void

/** Publishers a subscriber remembers the sequence of; an older one forgotten only costs a reset. */
const MAX_PUBLISHERS = 1000

/**
 * The invalidation feed over Redis pub/sub, for in-process (L1) copies. Pub/sub is
 * at-most-once, and a Redis Cluster subscriber can even move to another node silently (ioredis
 * resubscribes without an event) and miss what was published meanwhile. So every message
 * carries its publisher's id and sequence number, and a subscriber that sees a gap reports
 * `reset` before the message. The replication leader publishes a watermark every heartbeat,
 * so a lost invalidation is noticed within one heartbeat interval.
 *
 * This process's own listeners hear every event at once (synchronously, before the publish
 * returns), so a purge that returned has already emptied this process's L1.
 */
export function makeInvalidationFeed(channels: RedisChannels, channel: string) {
  const publisher = makeStamp()
  let sequence = 0
  const local = new Set<Listener>()

  return {
    publish(event: InvalidationEvent): Promise<void> {
      for (const listener of local) listener(event)
      sequence += 1
      return channels.publish(channel, JSON.stringify({ from: publisher, seq: sequence, event }))
    },

    subscribe(listener: Listener): () => void {
      local.add(listener)
      const lastSeen = new Map<string, number>()
      const unsubscribe = channels.subscribe(channel, (message) => {
        let parsed: { from: string; seq: number; event: InvalidationEvent }
        try {
          parsed = JSON.parse(message) as typeof parsed
        } catch {
          return listener({ kind: 'reset' })
        }
        if (parsed.from === publisher) return // heard already, synchronously
        const last = lastSeen.get(parsed.from)
        lastSeen.delete(parsed.from)
        lastSeen.set(parsed.from, parsed.seq)
        if (lastSeen.size > MAX_PUBLISHERS) lastSeen.delete(lastSeen.keys().next().value as string)
        if (last !== undefined && parsed.seq !== last + 1) listener({ kind: 'reset' })
        listener(parsed.event)
      })
      const unreset = channels.onReset(() => {
        lastSeen.clear()
        listener({ kind: 'reset' })
      })
      return () => {
        local.delete(listener)
        unsubscribe()
        unreset()
      }
    },
  }
}
