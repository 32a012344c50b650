import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A private redis-server on a free loopback port (and a Unix socket, if asked), for tests that stop and start Redis. */
export interface PrivateRedis {
  readonly url: string
  readonly port: number
  /** unix:///path of its socket, when made with one. */
  readonly socketUrl: string | undefined
  start(): Promise<void>
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

export async function makePrivateRedis(options: { unixSocket?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const url = `redis://127.0.0.1:${port}`
  const socketArgs = options.unixSocket === undefined ? [] : ['--unixsocket', options.unixSocket, '--unixsocketperm', '700']
  return {
    url,
    port,
    socketUrl: options.unixSocket === undefined ? undefined : `unix://${options.unixSocket}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...socketArgs], { stdio: 'ignore' })
      const deadline = Date.now() + 5000
      for (;;) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        try { await probe.connect(); await probe.ping(); probe.disconnect(); return } catch {
          probe.disconnect()
          if (Date.now() > deadline) throw new Error('redis-server did not start')
          await new Promise((r) => setTimeout(r, 25))
        }
      }
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child?.once('exit', r))
      child.kill('SIGKILL')
      await exited
    },
  }
}
