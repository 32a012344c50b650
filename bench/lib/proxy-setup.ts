import { join } from 'node:path'
import type { BenchContext } from './context.js'
import { spawnProcess } from './processes.js'
import { writeProxyConfig } from './proxy-process.js'

/** `cdc-cache-proxy setup`: checks Postgres, creates this run's publication and then its slot. */
export async function runProxySetup(ctx: BenchContext): Promise<void> {
  const configFile = writeProxyConfig(ctx, { label: 'setup', upstreamUrl: ctx.upstreamUrl, routes: 'contract' }, { port: 1, adminPort: 2, keyPrefix: `${ctx.prefix}setup:` })
  const setup = spawnProcess({
    name: 'proxy-setup', command: process.execPath, args: [join(ctx.root, 'dist', 'cli.js'), 'setup', '--config', configFile],
    logFile: join(ctx.tmpDir, 'proxy-setup.log'),
  })
  const code = await setup.exited
  if (code !== 0) throw new Error(`cdc-cache-proxy setup exited with ${String(code)}; see ${ctx.tmpDir}/proxy-setup.log`)
}
