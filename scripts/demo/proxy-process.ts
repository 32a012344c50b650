import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** The proxy's CLI (`node dist/cli.js ...`) run as a child process with its output prefixed. */
export interface ProxyProcess {
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  hasExited(): boolean
  /** SIGTERM (the proxy drains in-flight requests), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export function startProxyProcess(cliPath: string, args: readonly string[], env: NodeJS.ProcessEnv): ProxyProcess {
  const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  pipeLines(child, `[proxy ${args[0] ?? ''}] `)
  let done = false
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      done = true
      resolve(code)
    })
  })
  return {
    exited,
    hasExited: () => done,
    async stop(graceMs = 10_000) {
      if (done) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited.catch(() => null)
      clearTimeout(timer)
    },
  }
}

/** Runs a CLI command to completion (e.g. `setup`) and returns its exit code. */
export async function runProxyCommand(cliPath: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return startProxyProcess(cliPath, args, env).exited
}

function pipeLines(child: ChildProcess, prefix: string): void {
  for (const [stream, sink] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    if (stream === null) continue
    createInterface({ input: stream }).on('line', (line) => sink.write(`${prefix}${line}\n`))
  }
}
