import { join } from 'node:path'
import type { BenchContext } from './context.js'
import { findFreePort } from './ports.js'
import { spawnProcess, type BenchProcess } from './processes.js'
import { GiveUp, waitFor } from './wait.js'

export interface RunningServer {
  readonly url: string
  readonly process: BenchProcess
}

/** Waits until anything answers HTTP at `url` (any status). */
export async function waitUntilAnswering(url: string, process: BenchProcess): Promise<void> {
  await waitFor(`${process.name} at ${url}`, async () => {
    if (process.hasExited()) throw new GiveUp(`${process.name} exited during start; see its log in ${process.logFile}`)
    const response = await fetch(url)
    await response.arrayBuffer()
    return true
  }, 30_000, 50)
}

/** The example helpdesk API over the run's database, as its own process; not pinned. */
export async function startUpstream(ctx: Omit<BenchContext, 'upstreamUrl'>): Promise<RunningServer> {
  const port = await findFreePort()
  const process = spawnProcess({
    name: 'helpdesk-api', command: globalThis.process.execPath,
    args: [join(ctx.builtRoot, 'examples', 'helpdesk-api', 'bin.js')],
    env: { ...globalThis.process.env, DATABASE_URL: ctx.db.url, JWT_SECRET: ctx.jwtSecret, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    logFile: join(ctx.tmpDir, 'helpdesk-api.log'),
  })
  ctx.cleanup.push('stop the helpdesk API', () => process.stop())
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(`${url}/healthz`, process)
  return { url, process }
}

/** The Node ceiling (or, with anyQuery, a static origin) on the server CPU. */
export async function startCeiling(ctx: BenchContext, options: { responseFile: string; anyQuery: boolean; label: string; cpus?: string; nodeArgs?: readonly string[] }): Promise<RunningServer> {
  const port = await findFreePort()
  const process = spawnProcess({
    name: options.label, command: globalThis.process.execPath,
    args: [...(options.nodeArgs ?? []), join(ctx.builtRoot, 'bench', 'servers', 'ceiling-server.js'), '--port', String(port), '--response', options.responseFile, ...(options.anyQuery ? ['--any-query'] : [])],
    cpus: options.cpus, logFile: join(ctx.tmpDir, `${options.label}.log`),
  })
  ctx.cleanup.push(`stop ${options.label}`, () => process.stop())
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(url, process)
  return { url, process }
}

/** The proxy floor (bench/servers/proxy-floor-server.ts) in front of the upstream, on the server CPU. */
export async function startProxyFloor(ctx: BenchContext): Promise<RunningServer> {
  const port = await findFreePort()
  const process = spawnProcess({
    name: 'proxy-floor', command: globalThis.process.execPath,
    args: [join(ctx.builtRoot, 'bench', 'servers', 'proxy-floor-server.js'), '--port', String(port), '--upstream', ctx.upstreamUrl],
    cpus: ctx.settings.serverCpu, logFile: join(ctx.tmpDir, 'proxy-floor.log'),
  })
  ctx.cleanup.push('stop the proxy floor', () => process.stop())
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(`${url}/healthz`, process)
  return { url, process }
}
