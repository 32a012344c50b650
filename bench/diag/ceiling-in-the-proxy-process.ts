import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { captureResponse, writeCapture } from '../lib/capture.js'
import { sampleCpu } from '../lib/cpu-usage.js'
import { waitFor } from '../lib/wait.js'
import type { CapturedResponse } from '../servers/ceiling-server.js'
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
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..', '..')

function installCeilingHandler(proxyServer: Server, captured: CapturedResponse): void {
  const body = Buffer.from(captured.bodyBase64, 'base64')
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of captured.headers) headers[name] = value
  headers['content-length'] = String(body.length)
  const [listener] = proxyServer.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  if (listener === undefined) throw new Error('the proxy server has no request listener')
  proxyServer.removeAllListeners('request')
  proxyServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== CEILING_PATH) return listener.call(proxyServer, req, res)
    res.writeHead(captured.status, headers)
    res.end(body)
  })
}

function startCeilingProcess(responseFile: string, port: number): ChildProcess {
  const script = join(root, 'dist', 'bench-build', 'bench', 'servers', 'ceiling-server.js')
  return spawn('taskset', ['-c', SERVER_CPU, process.execPath, script, '--port', String(port), '--response', responseFile], { stdio: 'ignore' })
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
    // The primed hit's bytes (wrk's own key, without Accept, is stored and admitted in the warm-up round).
    const captured = await captureResponse(diag.proxy.url, PATH, { authorization: auth })
    const responseFile = writeCapture(join(tmp, 'hit-response.json'), captured)
    installCeilingHandler(diag.proxy.app.server, captured)
    const port = 20_000 + (process.pid % 20_000)
    ceiling = startCeilingProcess(responseFile, port)
    const ceilingUrl = `http://127.0.0.1:${port}`
    await waitFor('the ceiling process', async () => (await (await fetch(ceilingUrl + PATH)).arrayBuffer(), true), 5000)
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
