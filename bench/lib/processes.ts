import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'

/**
 * Child processes of the benchmark: each may be pinned to CPUs with taskset (which execs the
 * command, so the pid is the server's own), logs to a file, and is stopped by its own pid.
 */
export interface BenchProcess {
  readonly name: string
  readonly pid: number
  readonly logFile: string
  readonly exited: Promise<number | null>
  hasExited(): boolean
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>
}

export interface SpawnOptions {
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
  /** e.g. "1" or "0,1"; undefined or no taskset on the machine: not pinned. */
  readonly cpus?: string | undefined
  readonly env?: NodeJS.ProcessEnv
  readonly logFile: string
}

let tasksetChecked: boolean | undefined

export function hasTaskset(): boolean {
  tasksetChecked ??= spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
  return tasksetChecked
}

export function pinnedCommand(cpus: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  if (cpus === undefined || !hasTaskset()) return [command, [...args]]
  return ['taskset', ['-c', cpus, command, ...args]]
}

export function spawnProcess(options: SpawnOptions): BenchProcess {
  const [command, args] = pinnedCommand(options.cpus, options.command, options.args)
  const log = createWriteStream(options.logFile, { flags: 'a' })
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${command})`)
  return wrapChild(options.name, options.logFile, child)
}

function wrapChild(name: string, logFile: string, child: ChildProcess): BenchProcess {
  let done = false
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => { done = true; resolve(null) })
    child.once('exit', (code) => { done = true; resolve(code) })
  })
  return {
    name,
    pid: child.pid as number,
    logFile,
    exited,
    hasExited: () => done,
    async stop(graceMs = 10_000) {
      if (done) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Resident set size of a live process in bytes (Linux /proc), or undefined. */
export function readRssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024
}
