import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import type { BenchContext } from './context.js'
import { parseMetrics, type Sample } from './metrics-text.js'
import { findFreePort } from './ports.js'
import { spawnProcess, type BenchProcess } from './processes.js'
import { GiveUp, waitFor } from './wait.js'

/**
 * The product as users run it: `node dist/cli.js start --config FILE`, its own process,
 * pinned to the server CPU. The config is config/helpdesk.yaml (the contract) with only the
 * addresses, secrets, key prefix and slot names of this run filled in.
 */
export interface ProxyVariant {
  readonly label: string
  readonly upstreamUrl: string
  /** 'pass-through' drops the tickets route, so the ticket list is forwarded uncached. */
  readonly routes: 'contract' | 'pass-through'
  readonly nodeArgs?: readonly string[]
  /** Another proxy's label whose key prefix this one shares (replicas of one deployment: one slot, one prefix). */
  readonly replicaOf?: string
  /** Another build's dist/cli.js (BENCH_COMPARE_CLI); default: this checkout's. */
  readonly cli?: string
}

export interface BenchProxy {
  readonly url: string
  readonly adminUrl: string
  readonly keyPrefix: string
  readonly process: BenchProcess
  metrics(): Promise<Sample[]>
  stop(): Promise<void>
}

export async function startBenchProxy(ctx: BenchContext, variant: ProxyVariant): Promise<BenchProxy> {
  const [port, adminPort] = [await findFreePort(), await findFreePort()]
  const keyPrefix = `${ctx.prefix}${variant.replicaOf ?? variant.label}:`
  const configFile = writeProxyConfig(ctx, variant, { port, adminPort, keyPrefix })
  const process = spawnProcess({
    name: `proxy-${variant.label}`, command: globalThis.process.execPath,
    args: [...(variant.nodeArgs ?? []), variant.cli ?? join(ctx.root, 'dist', 'cli.js'), 'start', '--config', configFile],
    cpus: ctx.settings.serverCpu, logFile: join(ctx.tmpDir, `proxy-${variant.label}.log`),
  })
  ctx.cleanup.push(`stop proxy ${variant.label}`, () => process.stop())
  const proxy = makeHandle(ctx, { url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, keyPrefix, process })
  await waitUntilCaching(ctx, proxy)
  return proxy
}

function makeHandle(ctx: BenchContext, parts: Omit<BenchProxy, 'metrics' | 'stop'>): BenchProxy {
  return {
    ...parts,
    async metrics() {
      const response = await fetch(`${parts.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ctx.adminToken}` } })
      if (!response.ok) throw new Error(`admin /metrics answered ${response.status}`)
      return parseMetrics(await response.text())
    },
    stop: () => parts.process.stop(),
  }
}

export interface Addresses { readonly port: number; readonly adminPort: number; readonly keyPrefix: string }

export function writeProxyConfig(ctx: BenchContext, variant: ProxyVariant, addresses: Addresses): string {
  // The example config, edited in place for the benchmark's addresses.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const config = parseYaml(readFileSync(join(ctx.root, 'config', 'helpdesk.yaml'), 'utf8')) as Record<string, any>
  config['upstream'] = variant.upstreamUrl
  config['listen'] = { host: '127.0.0.1', port: addresses.port }
  config['store'] = { ...config['store'], redis: ctx.settings.redisUrl, keyPrefix: addresses.keyPrefix }
  config['identity'].jwt.secret = ctx.jwtSecret
  config['invalidation'] = { ...config['invalidation'], database: ctx.db.url, slot: ctx.db.slot, publication: ctx.db.publication }
  config['admin'] = { host: '127.0.0.1', port: addresses.adminPort, token: ctx.adminToken }
  if (variant.routes === 'pass-through') config['routes'] = (config['routes'] as { name: string }[]).filter((r) => r.name !== 'tickets')
  const file = join(ctx.tmpDir, `proxy-${variant.label}.yaml`)
  writeFileSync(file, stringifyYaml(config))
  return file
}

/**
 * Right after start the proxy bypasses the cache until it has applied its first replication
 * heartbeat (the freshness bound): wait until a probe is answered MISS or HIT.
 */
async function waitUntilCaching(ctx: BenchContext, proxy: BenchProxy): Promise<void> {
  const token = readProbeToken(ctx)
  await waitFor(`proxy ${proxy.process.name} to cache`, async () => {
    if (proxy.process.hasExited()) throw new GiveUp(`${proxy.process.name} exited during start; see ${proxy.process.logFile}`)
    const response = await fetch(`${proxy.url}/api/v2/people/search/?q=bench-ready-probe`, { headers: { authorization: `Bearer ${token}` } })
    await response.arrayBuffer()
    const xcache = response.headers.get('x-cache')
    return xcache === 'MISS' || xcache === 'HIT' ? true : undefined
  }, 60_000, 100)
}

function readProbeToken(ctx: BenchContext): string {
  return ctx.tokens.forUser(1, 1)
}
