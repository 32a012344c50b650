import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin } from './helpers/origin.js'
import { configText, eventually } from './helpers/proxy.js'
import { bearer, JWT_SECRET } from './helpers/tokens.js'
import { REDIS_URL, uniquePrefix } from './helpers/env.js'
import { freePort } from './helpers/redis-server.js'

const CLI = join(process.cwd(), 'dist', 'cli.js')

async function writeConfig(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'ccp-cli-')), 'config.yaml')
  await writeFile(file, text)
  return file
}

t.test('check-config exits 0 for a good file and 1 with every problem for a bad one', async (t) => {
  const env = { ...process.env, UPSTREAM_URL: 'http://127.0.0.1:1', REDIS_URL, JWT_SECRET }
  const good = await writeConfig(configText({ keyPrefix: 'x:' }))
  const ok = spawnSync(process.execPath, [CLI, 'check-config', good], { env, encoding: 'utf8' })
  t.equal(ok.status, 0)
  t.match(ok.stdout, /ok \(3 routes, store redis, invalidation off\)/)
  const bad = await writeConfig(configText({ keyPrefix: 'x:' }).replace('ttl: 5m', 'ttl: 5 min').replace('scope: tenant', 'scope: nobody'))
  const failed = spawnSync(process.execPath, [CLI, 'check-config', bad], { env, encoding: 'utf8' })
  t.equal(failed.status, 1)
  t.match(failed.stderr, new RegExp(`${bad}:\\d+: routes\\[0\\]\\.ttl: is not a duration`))
  t.match(failed.stderr, /routes\[1\]\.scope: must be one of tenant, user/)
  t.match(failed.stderr, /2 problems/)
  const usage = spawnSync(process.execPath, [CLI, 'frobnicate'], { env, encoding: 'utf8' })
  t.equal(usage.status, 2)
})

t.test('start serves, reloads on SIGHUP, and drains in-flight requests on SIGTERM', async (t) => {
  const origin = await startOrigin()
  t.teardown(() => origin.close())
  const port = await freePort()
  const file = await writeConfig(configText({ keyPrefix: uniquePrefix('cli') }).replace('port: 0', `port: ${port}`))
  const child = spawn(process.execPath, [CLI, 'start', '--config', file], {
    env: { ...process.env, UPSTREAM_URL: origin.url, REDIS_URL, JWT_SECRET, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await eventually(() => output.includes('cdc-cache-proxy listening'), 10_000, 'the proxy to listen')
  t.notMatch(output, new RegExp(JWT_SECRET), 'the secret is never logged')

  await writeFile(file, (await readFile(file, 'utf8')).replace('routes:\n', 'routes:\n  - { name: added, path: /added/, ttl: 1m, scope: tenant }\n'))
  child.kill('SIGHUP')
  await eventually(async () => (await fetch(`${url}/added/`)).headers.get('x-cache') === 'BYPASS', 5000, 'the SIGHUP reload')

  let release!: () => void
  origin.respond = async () => { await new Promise<void>((r) => { release = r }); return { body: 'drained' } }
  const inflight = fetch(`${url}/slow`, { headers: bearer({ tenant: 't', sub: 'u' }) })
  await eventually(() => origin.count('GET', '/slow') === 1, 5000, 'the slow request to reach the origin')
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  child.kill('SIGTERM')
  release()
  t.equal(await (await inflight).text(), 'drained', 'the in-flight request completed')
  t.equal(await exited, 0, 'clean exit')
})
