import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { freePort } from './redis-server.js'

/**
 * A private redis-server that keeps an RDB snapshot in a directory of its own, to play a
 * Redis that restarts from disk (persistence on, or a replica promoted after a failover):
 * what it comes back with is older than what it had.
 */
export interface PersistentRedis {
  readonly url: string
  start(): Promise<void>
  /** SAVE: the snapshot it will come back with. */
  snapshot(): Promise<void>
  kill(): Promise<void>
}

export async function makePersistentRedis(t: Test): Promise<PersistentRedis> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'ccp-redis-'))
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let exited: Promise<unknown> = Promise.resolve()
  const redis: PersistentRedis = {
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'snapshot.rdb', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      const running = child
      exited = new Promise((resolve) => running.once('exit', resolve))
      const deadline = Date.now() + 5000
      for (;;) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        probe.on('error', () => {})
        try {
          await probe.connect()
          // LOADING while the snapshot is read back: ready only when PING answers PONG.
          if ((await probe.ping()) === 'PONG') { probe.disconnect(); return }
        } catch { /* not up yet */ }
        probe.disconnect()
        if (Date.now() > deadline) throw new Error('redis-server did not start')
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
    async snapshot() {
      const client = new Redis(url, { maxRetriesPerRequest: 0 })
      try { await client.save() } finally { client.disconnect() }
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
  }
  t.teardown(async () => {
    await redis.kill()
    await rm(dir, { recursive: true, force: true })
  })
  return redis
}
