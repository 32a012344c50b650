#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigFile } from './config/load-config.js'
import { describeProblems } from './config/describe-problems.js'
import { startProxy } from './server.js'
import { isProxyError } from './errors.js'
import { runPurge, runSetup } from './cli-commands.js'

const USAGE = `usage:
  cdc-cache-proxy start --config FILE          run the proxy
  cdc-cache-proxy check-config FILE            validate a config; prints every problem, exits 1 if any
  cdc-cache-proxy setup --config FILE          check Postgres and create the publication and slot
  cdc-cache-proxy purge --config FILE (--tag TAG ... | --pattern GLOB)   invalidate cached entries`

type Command = (args: string[]) => Promise<number>

const COMMANDS: Record<string, Command> = {
  start: runStart,
  'check-config': runCheckConfig,
  setup: runSetup,
  purge: runPurge,
}

async function runCheckConfig(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, allowPositionals: true })
  const file = values.config ?? positionals[0]
  if (!file) return usage('check-config needs a FILE')
  const result = await loadConfigFile(file)
  if (result.ok) {
    const { config } = result
    console.log(`${file}: ok (${config.routes.length} routes, store ${config.store.kind}, invalidation ${config.invalidation ? 'on' : 'off'})`)
    return 0
  }
  for (const line of describeProblems(result)) console.error(line)
  console.error(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`)
  return 1
}

async function runStart(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } })
  if (!values.config) return usage('start needs --config FILE')
  const proxy = await startProxy({ configFile: values.config })
  process.on('SIGHUP', () => void proxy.reload())
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      proxy.log.info({ signal }, 'draining in-flight requests and stopping')
      void proxy.close().then(resolve, (err) => { proxy.log.error({ err }, 'error while stopping'); resolve() })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  return 0
}

function usage(problem?: string): number {
  if (problem) console.error(problem)
  console.error(USAGE)
  return 2
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const command = name === undefined ? undefined : COMMANDS[name]
  if (!command) return usage(name ? `unknown command "${name}"` : undefined)
  try {
    return await command(rest)
  } catch (err) {
    console.error(isProxyError(err) ? `${err.code}: ${err.message}` : err)
    return 1
  }
}

// main never rejects: every command's failure is printed and becomes exit code 1.
void main(process.argv.slice(2)).then((code) => { process.exitCode = code })
