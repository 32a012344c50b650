import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sampleCpu } from '../lib/cpu-usage.js'
import { PATH, startDiagProxy } from './diag-proxy.js'

/**
 * A diagnosis, not a scenario: how much of what separates the proxy's HIT from the Node ceiling
 * is the proxy's code, and how much the process it runs in. Three servers answer the same bytes
 * (the proxy's primed HIT, identity form), alternating under the same wrk load:
 *
 * - the Node ceiling in its own process (bench/servers/ceiling-server.ts), as the bench runs it;
 * - the same ceiling handler inside the proxy's process, on the proxy's own server (a wrapper in
 *   front of its request listener answers CEILING_PATH with the prepared bytes): the same code as
 *   the ceiling, in a process that also holds Fastify, ioredis and the proxy's state;
 * - the proxy's fast path, in that same process.
 *
 * Run it pinned to the server CPU; wrk runs on the load CPU (BENCH_SERVER_CPU, BENCH_LOAD_CPU:
 * 1 and 0). CPU time per request is each server process's, from /proc.
 *
 *   taskset -c 1 node dist/bench-build/bench/diag/ceiling-in-the-proxy-process.js
 */
const ROUNDS = Number(process.env['DIAG_ROUNDS'] ?? 5)
const SECONDS = Number(process.env['DIAG_SECONDS'] ?? 3)
const SERVER_CPU = process.env['BENCH_SERVER_CPU'] ?? '1'
const LOAD_CPU = process.env['BENCH_LOAD_CPU'] ?? '0'
const CEILING_PATH = '/ceiling-in-process'
const NOT_REPLAYED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'])
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..', '..')

interface Captured { status: number; headers: [string, string][]; body: Buffer }

function capture(url: string, headers: Record<string, string>): Promise<Captured> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const kept: [string, string][] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = (res.rawHeaders[i] as string).toLowerCase()
          if (!NOT_REPLAYED.has(name)) kept.push([name, res.rawHeaders[i + 1] as string])
        }
        resolve({ status: res.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) })
      })
    }).on('error', reject).end()
  })
}

function installCeilingHandler(proxyServer: import('node:http').Server, captured: Captured): void {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of captured.headers) headers[name] = value
  headers['content-length'] = String(captured.body.length)
  const [listener] = proxyServer.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  if (listener === undefined) throw new Error('the proxy server has no request listener')
  proxyServer.removeAllListeners('request')
  proxyServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== CEILING_PATH) return listener.call(proxyServer, req, res)
    res.writeHead(captured.status, headers)
    res.end(captured.body)
  })
}

function startCeilingProcess(responseFile: string, port: number): ChildProcess {
  const script = join(root, 'dist', 'bench-build', 'bench', 'servers', 'ceiling-server.js')
  return spawn('taskset', ['-c', SERVER_CPU, process.execPath, script, '--port', String(port), '--response', responseFile], { stdio: 'ignore' })
}

async function waitUntilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try { return void await (await fetch(url)).arrayBuffer() } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** One wrk run (the bench's Lua script and settings) against url; the server pid's CPU time per request. */
async function load(url: string, path: string, authorization: string, pid: number, tmp: string): Promise<{ rps: number; usPerRequest: number }> {
  const out = join(tmp, `wrk-${Date.now()}.json`)
  const before = sampleCpu(pid, SERVER_CPU)
  await new Promise<void>((resolve, reject) => {
    const wrk = spawn('taskset', ['-c', LOAD_CPU, 'wrk', '-t1', '-c50', `-d${SECONDS}s`, '-s', join(root, 'bench', 'lua', 'get.lua'), url], {
      stdio: 'ignore', env: { ...process.env, BENCH_PATH: path, BENCH_AUTH: authorization, BENCH_TENANT: '1', BENCH_OUT: out },
    })
    wrk.on('error', reject)
    wrk.on('exit', (code) => code === 0 ? resolve() : reject(new Error(`wrk exited with ${code}`)))
  })
  const after = sampleCpu(pid, SERVER_CPU)
  const result = JSON.parse(readFileSync(out, 'utf8')) as { requests: number; durationUs: number }
  const cpuSeconds = before && after ? after.processSeconds - before.processSeconds : NaN
  return { rps: result.requests / (result.durationUs / 1e6), usPerRequest: cpuSeconds * 1e6 / result.requests }
}

async function main(): Promise<void> {
  const diag = await startDiagProxy({ keyPrefix: `ccp-diag-ceiling:${process.pid}:` })
  const tmp = mkdtempSync(join(tmpdir(), 'ccp-diag-ceiling-'))
  let ceiling: ChildProcess | undefined
  try {
    const auth = diag.headers.authorization
    // wrk's request (no Accept): its first request is a MISS of its own key, stored and admitted like the primed one.
    const captured = await capture(diag.proxy.url + PATH, { authorization: auth, 'x-tenant-id': '1' })
    const responseFile = join(tmp, 'hit-response.json')
    writeFileSync(responseFile, JSON.stringify({ url: PATH, status: captured.status, headers: captured.headers, bodyBase64: captured.body.toString('base64') }))
    installCeilingHandler(diag.proxy.app.server, captured)
    const port = 20_000 + (process.pid % 20_000)
    ceiling = startCeilingProcess(responseFile, port)
    const ceilingUrl = `http://127.0.0.1:${port}`
    await waitUntilAnswering(ceilingUrl + PATH)
    const servers = [
      { name: 'Node ceiling, its own process', url: ceilingUrl, path: PATH, pid: ceiling.pid as number },
      { name: 'the same handler in the proxy process', url: diag.proxy.url, path: CEILING_PATH, pid: process.pid },
      { name: 'the proxy fast path', url: diag.proxy.url, path: PATH, pid: process.pid },
    ]
    for (const server of servers) await load(server.url, server.path, auth, server.pid, tmp) // warm-up: the JIT, the L1 copy of wrk's key
    const rounds: { rps: number; usPerRequest: number }[][] = []
    for (let i = 0; i < ROUNDS; i++) {
      const round: { rps: number; usPerRequest: number }[] = []
      for (const server of servers) round.push(await load(server.url, server.path, auth, server.pid, tmp))
      rounds.push(round)
    }
    printTable(servers.map((s) => s.name), rounds)
  } finally {
    ceiling?.kill('SIGTERM')
    await diag.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function printTable(names: string[], rounds: { rps: number; usPerRequest: number }[][]): void {
  console.log(`${ROUNDS} rounds of ${SECONDS} s per server, wrk -t1 -c50 on CPU ${LOAD_CPU}, servers on CPU ${SERVER_CPU}; medians, and each round's figures`)
  console.log('| server | req/s | CPU µs per request | rounds (req/s / µs) |')
  console.log('| --- | --- | --- | --- |')
  names.forEach((name, i) => {
    const rows = rounds.map((r) => r[i] as { rps: number; usPerRequest: number })
    console.log(`| ${name} | ${median(rows.map((r) => r.rps)).toFixed(0)} | ${median(rows.map((r) => r.usPerRequest)).toFixed(1)} | ${rows.map((r) => `${r.rps.toFixed(0)} / ${r.usPerRequest.toFixed(1)}`).join(', ')} |`)
  })
  const ratio = (a: number, b: number) => median(rounds.map((r) => (r[a] as { rps: number }).rps / (r[b] as { rps: number }).rps)).toFixed(3)
  console.log(`\nMedian of the rounds' req/s ratios: proxy / ceiling in its own process ${ratio(2, 0)}; proxy / the handler in the proxy process ${ratio(2, 1)}; the handler in the proxy process / in its own ${ratio(1, 0)}`)
}

await main()
