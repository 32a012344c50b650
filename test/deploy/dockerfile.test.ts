import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

/**
 * No Docker engine runs here, so the Dockerfile's promises are checked in its text: a build
 * stage and a runtime stage on node:20-slim, production dependencies only, a non-root user,
 * a health check on the admin port, and the documented start command.
 */
const ROOT = join(import.meta.dirname, '..', '..')
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
const stages = instructions.reduce<string[][]>((all, line) => {
  if (line.startsWith('FROM ')) all.push([])
  all[all.length - 1]?.push(line)
  return all
}, [])
const runtime = stages[stages.length - 1] ?? []

t.test('multi-stage on node:20-slim', async (t) => {
  t.ok(stages.length >= 2)
  for (const stage of stages) t.match(stage[0], /^FROM node:20-slim\b/)
})

t.test('the runtime stage has production dependencies only and runs as non-root', async (t) => {
  const depsStage = runtime.find((line) => line.includes('/app/node_modules'))?.match(/--from=(\S+)/)?.[1]
  const deps = stages.find((stage) => stage[0]?.endsWith(` AS ${depsStage}`)) ?? []
  t.ok(deps.some((line) => /npm ci .*--omit=dev/.test(line)), `node_modules come from a stage that ran npm ci --omit=dev (${depsStage})`)
  const user = runtime.filter((line) => line.startsWith('USER ')).pop()
  t.ok(user !== undefined && !/USER (root|0)\b/.test(user), `runs as ${user}`)
})

t.test('health check on the admin port, start command with the config path', async (t) => {
  const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK'))
  t.match(healthcheck, /9091/)
  t.match(healthcheck, /\/healthz/)
  t.ok(runtime.includes('ENTRYPOINT ["node", "dist/cli.js"]'))
  t.ok(runtime.includes('CMD ["start", "--config", "/etc/cdc-cache-proxy/config.yaml"]'))
  t.ok(runtime.some((line) => line.startsWith('COPY ') && line.endsWith(' /etc/cdc-cache-proxy/config.yaml')), 'a default config is in place')
})

t.test('.dockerignore keeps the host\'s node_modules and build output out of the context', async (t) => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim())
  for (const entry of ['node_modules', 'dist', '.git']) t.ok(ignored.includes(entry), entry)
})
