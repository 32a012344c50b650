import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freePort } from './redis-server.js'

/**
 * A Postgres cluster of the test's own (initdb in a temporary directory, wal_level=logical,
 * a free port), for the tests that restart Postgres: a real server restarted for real,
 * without disturbing the shared one every other suite uses. Stopped (immediate) and removed
 * in teardown. As root, the server runs as the `postgres` user, as Postgres requires.
 */
export interface PrivatePostgres {
  /** The `postgres` database of that cluster. */
  readonly url: string
  readonly dataDir: string
  /** `pg_ctl restart -m fast`; resolves with whether it succeeded and its output. */
  restart(timeoutSeconds?: number): Promise<{ ok: boolean; output: string }>
  /** Starts it if it is not running (after a failed restart, say). */
  ensureRunning(): Promise<void>
  log(): Promise<string>
}

const run = promisify(execFile)

function findBindir(): string {
  const candidates = [process.env.PG_BINDIR, ...['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`)]
  const found = candidates.find((dir) => dir && existsSync(join(dir, 'initdb')))
  if (!found) throw new Error('initdb not found: set PG_BINDIR')
  return found
}

export async function startPrivatePostgres(t: Test): Promise<PrivatePostgres> {
  const bindir = findBindir()
  const asRoot = userInfo().uid === 0
  const dir = await mkdtemp(join(tmpdir(), 'ccp-pg-'))
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const pgctl = (args: string[]) => asRoot ? run('runuser', ['-u', 'postgres', '--', join(bindir, 'pg_ctl'), ...args]) : run(join(bindir, 'pg_ctl'), args)
  const dataDir = join(dir, 'data')
  const logFile = join(dir, 'log')
  await (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bindir, 'initdb'), '-D', dataDir, '-A', 'trust', '-U', 'postgres'])
    : run(join(bindir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres']))
  const port = await freePort()
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20`
  await pgctl(['-D', dataDir, '-l', logFile, '-o', options, '-w', 'start'])
  t.teardown(async () => {
    await pgctl(['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  const isRunning = () => pgctl(['-D', dataDir, 'status']).then(() => true, () => false)
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    async restart(timeoutSeconds = 60) {
      try {
        const { stdout, stderr } = await pgctl(['-D', dataDir, '-l', logFile, '-m', 'fast', '-t', String(timeoutSeconds), '-w', 'restart'])
        return { ok: true, output: stdout + stderr }
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string }
        return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }
      }
    },
    async ensureRunning() {
      if (await isRunning()) return
      await pgctl(['-D', dataDir, '-l', logFile, '-o', options, '-w', 'start'])
    },
    async log() {
      const { readFile } = await import('node:fs/promises')
      return readFile(logFile, 'utf8').catch(() => '')
    },
  }
}
