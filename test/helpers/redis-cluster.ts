import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

/**
 * A private Redis Cluster on loopback: `masters` masters with `replicasPerMaster` replicas
 * each, every node a redis-server process of its own with its own directory under one
 * mkdtemp root (cluster-node-timeout 1000 ms, cluster-require-full-coverage no: the rest of
 * the cluster keeps serving while a master is down). A node can be SIGKILLed and restarted
 * on the same port with the same nodes.conf, so it rejoins as itself. stop() kills every
 * node and removes the root; if the test process dies first, an exit hook (and, for a
 * SIGKILLed test process, a watchdog shell) does the same.
 *
 * Ports are random in 30000–39999 with the cluster bus port (port + 10000) free as well.
 */
export interface RedisCluster {
  /** redis://127.0.0.1:P for every node, masters and replicas. */
  readonly urls: string[]
  readonly nodes: ClusterNode[]
  /** The mkdtemp root holding one directory per node (gone after stop()). */
  readonly dir: string
  /** Every running node sees cluster_state:ok, all 16384 slots served, replicas linked. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export interface ClusterNode {
  readonly port: number
  readonly url: string
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>
  /** Start again (killing it first if running): same port, directory and nodes.conf. */
  restart(): Promise<void>
  /** What the node says of itself (ROLE); 'down' when not running or not answering. */
  role(): Promise<'master' | 'replica' | 'down'>
}

export interface RedisClusterOptions {
  /** At least 3 (redis-cli --cluster create refuses fewer). Default 3. */
  masters?: number
  /** Default 0. */
  replicasPerMaster?: number
  /** 'aof': appendonly yes (fsync everysec), so a restarted node comes back with its data. Default 'none'. */
  persistence?: 'none' | 'aof'
}

const running = new Set<ChildProcess>()
const roots = new Set<string>()
const portsInUse = new Set<number>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 0, persistence = 'none' } = options
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  const root = await mkdtemp(join(tmpdir(), 'ccp-redis-cluster-'))
  roots.add(root)
  // Should this process be SIGKILLed (tap does that on a timeout), nobody runs the exit hook:
  // this shell sees its stdin close and kills whatever the pidfiles name, then removes root.
  const watchdog = spawn('sh', ['-c', 'read _; for f in "$0"/*/redis.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")"; done; rm -rf "$0"', root], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
  watchdog.unref()
  ;(watchdog.stdin as unknown as Socket).unref()

  const nodes: Node[] = []
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) nodes.push(await startNewNode(root, persistence))
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`)
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { timeout: 60_000 })
    const cluster: RedisCluster = {
      urls: nodes.map((n) => n.url),
      nodes,
      dir: root,
      waitUntilHealthy: (timeoutMs = 30_000) => waitUntilHealthy(nodes, timeoutMs),
      async stop() {
        await Promise.all(nodes.map((n) => n.kill()))
        watchdog.kill('SIGKILL')
        for (const n of nodes) portsInUse.delete(n.port)
        await rm(root, { recursive: true, force: true })
        roots.delete(root)
      },
    }
    await cluster.waitUntilHealthy()
    return cluster
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()))
    watchdog.kill('SIGKILL')
    await rm(root, { recursive: true, force: true })
    roots.delete(root)
    throw err
  }
}

interface Node extends ClusterNode { readonly isRunning: boolean }

/** A node on a fresh port; a port lost to someone else between check and bind means another try. */
async function startNewNode(root: string, persistence: 'none' | 'aof'): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort()
    const node = makeNode(port, join(root, String(port)), persistence)
    try {
      await node.restart()
      return node
    } catch (err) {
      await node.kill()
      portsInUse.delete(port)
      if (attempt === 5) throw err
    }
  }
}

function makeNode(port: number, dir: string, persistence: 'none' | 'aof'): Node {
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let exited: Promise<unknown> = Promise.resolve()
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const node: Node = {
    port,
    url,
    get isRunning() { return isRunning() },
    async kill() {
      if (child && isRunning()) child.kill('SIGKILL')
      await exited
      // SIGKILL leaves the pidfile behind; the watchdog must not kill whoever gets the pid next.
      await rm(join(dir, 'redis.pid'), { force: true })
    },
    async restart() {
      await node.kill()
      await mkdir(dir, { recursive: true })
      child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--daemonize', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '1000', '--cluster-require-full-coverage', 'no',
        '--dir', dir, '--pidfile', join(dir, 'redis.pid'), '--logfile', 'redis.log', '--save', '',
        ...(persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']),
      ], { stdio: 'ignore' })
      const started = child
      running.add(started)
      exited = new Promise((resolve) => started.once('exit', resolve)).then(() => running.delete(started))
      const deadline = Date.now() + 10_000
      // Ready once PING answers PONG (LOADING while an AOF is read back).
      while ((await ask(port, 'PING').catch(() => undefined)) !== 'PONG') {
        if (!isRunning() || Date.now() > deadline) {
          const log = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '')
          throw new Error(`redis-server on port ${port} did not start:\n${log.split('\n').slice(-5).join('\n')}`)
        }
        await sleep(25)
      }
    },
    async role() {
      if (!isRunning()) return 'down'
      const reply = await ask(port, 'ROLE').catch(() => undefined)
      if (!Array.isArray(reply)) return 'down'
      return reply[0] === 'master' ? 'master' : 'replica'
    },
  }
  return node
}

async function waitUntilHealthy(nodes: Node[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const problem = await findProblem(nodes.filter((n) => n.isRunning), nodes.length)
    if (!problem) return
    if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms: ${problem}`)
    await sleep(100)
  }
}

/** '' when healthy, else what is wrong first. */
async function findProblem(live: Node[], total: number): Promise<string> {
  for (const node of live) {
    try {
      const info = parseInfo(String(await ask(node.port, 'CLUSTER', 'INFO')))
      if (info.cluster_state !== 'ok') return `${node.port}: cluster_state:${info.cluster_state}`
      if (info.cluster_slots_assigned !== '16384') return `${node.port}: ${info.cluster_slots_assigned} slots assigned`
      if (info.cluster_slots_ok !== '16384') return `${node.port}: ${info.cluster_slots_ok} slots ok`
      if (info.cluster_known_nodes !== String(total)) return `${node.port}: knows ${info.cluster_known_nodes} of ${total} nodes`
      const role = (await ask(node.port, 'ROLE')) as unknown[]
      if (role[0] === 'slave' && role[3] !== 'connected') return `${node.port}: replica link ${String(role[3])}`
    } catch (err) {
      return `${node.port}: ${(err as Error).message}`
    }
  }
  return ''
}

function parseInfo(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]))
}

/** One command on a throwaway connection that neither retries nor queues. */
async function ask(port: number, command: string, ...args: string[]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.call(command, ...args)
  } finally {
    redis.disconnect()
  }
}

async function pickPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 30000 + Math.floor(Math.random() * 10000)
    if (portsInUse.has(port)) continue
    if (await canListen(port) && await canListen(port + 10000)) {
      portsInUse.add(port)
      return port
    }
  }
  throw new Error('no free port pair (P, P+10000) in 30000–39999')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
