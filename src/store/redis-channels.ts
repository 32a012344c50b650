import type { Cluster, Redis } from 'ioredis'
import type { Logger } from 'pino'

/**
 * Redis pub/sub for the two broadcasts between replicas: "the fetch of this key you wait on
 * ended" (coalescing; published only when a replica waits) and "these tags were invalidated /
 * this heartbeat was applied" (the L1 feed).
 * Pub/sub is at-most-once: a lost fill message only makes a waiter wait out its bound, and a
 * reconnect of the subscriber is reported (`onReset`) so the L1 can drop everything it holds.
 * The subscriber connection is opened on first use (a SUBSCRIBE connection can do nothing else).
 */
export interface ChannelConnections {
  publish(channel: string, message: string): Promise<unknown>
  /** A connection of its own for SUBSCRIBE. */
  openSubscriber(): Redis | Cluster
}

export function makeRedisChannels(connections: ChannelConnections, log: Logger) {
  const listeners = new Map<string, Set<(message: string) => void>>()
  const resetListeners = new Set<() => void>()
  let subscriber: Redis | Cluster | undefined

  function ensureSubscriber(): Redis | Cluster {
    if (subscriber) return subscriber
    const sub = connections.openSubscriber()
    sub.on('error', (err: Error) => log.debug({ err }, 'pub/sub subscriber error'))
    sub.on('message', (channel: string, message: string) => { for (const listener of listeners.get(channel) ?? []) listener(message) })
    // Every (re)subscription may have missed messages published while the connection was down.
    sub.on('ready', () => { for (const listener of resetListeners) listener() })
    sub.on('close', () => { for (const listener of resetListeners) listener() })
    subscriber = sub
    return sub
  }

  return {
    publish: async (channel: string, message: string) => { await connections.publish(channel, message) },
    subscribe(channel: string, listener: (message: string) => void): () => void {
      const sub = ensureSubscriber()
      const set = listeners.get(channel) ?? new Set()
      if (!listeners.has(channel)) {
        listeners.set(channel, set)
        sub.subscribe(channel).catch((err: unknown) => log.warn({ err, channel }, 'could not subscribe'))
      }
      set.add(listener)
      return () => set.delete(listener)
    },
    onReset(listener: () => void): () => void {
      ensureSubscriber()
      resetListeners.add(listener)
      return () => resetListeners.delete(listener)
    },
    close(): void {
      listeners.clear()
      resetListeners.clear()
      subscriber?.disconnect()
    },
  }
}

export type RedisChannels = ReturnType<typeof makeRedisChannels>
