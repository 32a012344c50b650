import t from 'tap'
import { loadConfigText } from '../../src/config/load-config.js'
import { planReload } from '../../src/config/plan-reload.js'
import type { CompiledConfig } from '../../src/config/types.js'
import { configText } from '../helpers/proxy.js'

const env = { UPSTREAM_URL: 'http://127.0.0.1:8000', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 's3cret' }
const invalidation = 'invalidation:\n  database: postgres://app@db/app\n  slot: ccp\n  publication: ccp\n  freshnessBound: 5s\n  tables:\n    peoples: ["people:{client_id}"]\n'
const running = load(configText({ keyPrefix: 'ccp:', extra: invalidation }))

function load(text: string): CompiledConfig {
  const result = loadConfigText(text, 'cfg.yaml', env)
  if (!result.ok) throw new Error(JSON.stringify(result.problems))
  return result.config
}

function applied(from: CompiledConfig, file: CompiledConfig) {
  const plan = planReload(from, file)
  if (!plan.ok) throw new Error(JSON.stringify(plan.problems))
  return plan
}

/** The running config's file with one edit, reloaded. */
function reloadWith(edit: (text: string) => string) {
  const text = configText({ keyPrefix: 'ccp:', extra: invalidation })
  const edited = edit(text)
  if (edited === text) throw new Error('the edit changed nothing')
  return applied(running, load(edited))
}

t.test('parts wired at start keep their running values and are listed as pending a restart', async (t) => {
  const cases: Array<[string, (text: string) => string, (config: CompiledConfig) => unknown, string[]]> = [
    ['upstream', (s) => s.replace('${UPSTREAM_URL}', 'http://127.0.0.1:9000'), (c) => c.upstream.href, ['upstream']],
    ['upstreamTimeout', (s) => `upstreamTimeout: 3s\n${s}`, (c) => c.upstreamTimeoutMs, ['upstreamTimeoutMs']],
    ['listen.port', (s) => s.replace('port: 0', 'port: 8081'), (c) => c.listen.port, ['listen.port']],
    ['store.keyPrefix', (s) => s.replace('keyPrefix: "ccp:"', 'keyPrefix: "new:"'), (c) => c.store.keyPrefix, ['store.keyPrefix']],
    ['store.timeout', (s) => s.replace('timeout: 200ms', 'timeout: 1s'), (c) => c.store.kind === 'redis' && c.store.timeoutMs, ['store.timeoutMs']],
    ['store.l1', (s) => s.replace('timeout: 200ms', 'timeout: 200ms\n  l1: { enabled: false }'), (c) => c.store.l1 !== undefined, ['store.l1']],
    ['invalidation.slot', (s) => s.replace('slot: ccp', 'slot: other'), (c) => c.invalidation?.slot, ['invalidation.slot']],
    ['invalidation.publication', (s) => s.replace('publication: ccp', 'publication: other'), (c) => c.invalidation?.publication, ['invalidation.publication']],
    ['invalidation.database', (s) => s.replace('app@db/app', 'app@db2/app'), (c) => c.invalidation?.database, ['invalidation.database']],
    ['invalidation.heartbeatInterval', (s) => s.replace('freshnessBound: 5s', 'freshnessBound: 5s\n  heartbeatInterval: 2s'), (c) => c.invalidation?.heartbeatIntervalMs, ['invalidation.heartbeatIntervalMs']],
    ['invalidation.maxRowsPerTable', (s) => s.replace('freshnessBound: 5s', 'freshnessBound: 5s\n  maxRowsPerTable: 10'), (c) => c.invalidation?.maxRowsPerTable, ['invalidation.maxRowsPerTable']],
    ['invalidation removed', (s) => s.replace(invalidation, ''), (c) => c.invalidation?.slot, ['invalidation']],
    ['admin added', (s) => `${s}\nadmin:\n  port: 9091\n  token: t0k3n-0123456789abcdef\n`, (c) => c.admin, ['admin']],
    ['log.level', (s) => s.replace('${LOG_LEVEL:-silent}', 'debug'), (c) => c.logLevel, ['logLevel']],
  ]
  for (const [name, edit, read, pending] of cases) {
    const plan = reloadWith(edit)
    t.same(read(plan.config), read(running), `${name}: the running value stays`)
    t.same(plan.pendingRestart, pending, `${name}: listed as pending`)
  }
})

t.test('parts read per request or applied on reload take the file\'s values and pend nothing', async (t) => {
  const cases: Array<[string, (text: string) => string, (config: CompiledConfig) => unknown, unknown]> = [
    ['a route', (s) => s.replace('ttl: 5m', 'ttl: 7m'), (c) => c.routes[0]?.ttlMs, 420_000],
    ['identity', (s) => s.replace('claims: { tenant: tenant, user: sub }', 'claims: { tenant: org, user: sub }'), (c) => c.identity.kind === 'jwt' && c.identity.jwt.claims.tenant, 'org'],
    ['invalidation.tables', (s) => s.replace('peoples: ["people:{client_id}"]', 'peoples: ["people:{id}"]'), (c) => c.invalidation?.tables[0]?.tags[0]?.source, 'people:{id}'],
    ['invalidation.freshnessBound', (s) => s.replace('freshnessBound: 5s', 'freshnessBound: 2s'), (c) => c.invalidation?.freshnessBoundMs, 2000],
    ['store.maxEntrySize', (s) => s.replace('timeout: 200ms', 'timeout: 200ms\n  maxEntrySize: 2kb'), (c) => [c.store.maxEntryBytes, c.routes[0]?.maxEntryBytes], [2048, 2048]],
    ['store.compressAbove', (s) => s.replace('timeout: 200ms', 'timeout: 200ms\n  compressAbove: 10kb'), (c) => c.store.compressAboveBytes, 10_240],
  ]
  for (const [name, edit, read, expected] of cases) {
    const plan = reloadWith(edit)
    t.same(read(plan.config), expected, `${name}: applied`)
    t.same(plan.pendingRestart, [], `${name}: nothing pending`)
  }
})

t.test('a file restored to the running values pends nothing', async (t) => {
  const edited = reloadWith((s) => s.replace('slot: ccp', 'slot: other').replace('keyPrefix: "ccp:"', 'keyPrefix: "new:"'))
  t.same(edited.pendingRestart, ['store.keyPrefix', 'invalidation.slot'])
  const restored = applied(edited.config, load(configText({ keyPrefix: 'ccp:', extra: invalidation })))
  t.same(restored.pendingRestart, [])
  t.same(restored.config.invalidation?.slot, 'ccp')
})

t.test('the planned config is frozen', async (t) => {
  const plan = reloadWith((s) => s.replace('ttl: 5m', 'ttl: 7m'))
  t.ok(Object.isFrozen(plan.config) && Object.isFrozen(plan.config.store) && Object.isFrozen(plan.config.invalidation))
})

t.test('while the running store is a Redis Cluster, a file moving to one Redis may not bring route tags the cluster cannot hold', async (t) => {
  const cluster = load(configText({ keyPrefix: 'ccp:' }).replace('redis: ${REDIS_URL}', 'redisCluster: redis://127.0.0.1:7000'))
  const oneRedis = configText({ keyPrefix: 'ccp:' })
  t.ok(planReload(cluster, load(oneRedis)).ok, 'the contract tags fit both')
  const plan = planReload(cluster, load(oneRedis.replace('tags: ["people:{tenant}"]', 'tags: ["people:all"]')))
  t.match(plan, { ok: false, problems: [{ path: ['routes', 1, 'tags', 0], message: /running store is a Redis Cluster.*second segment must be \{tenant\}.*not "all"/ }] })
})
