import t from 'tap'
import { loadConfigText } from '../../src/config/load-config.js'
import { describeProblems } from '../../src/config/describe-problems.js'
import { configText } from '../helpers/proxy.js'

const env = { UPSTREAM_URL: 'http://127.0.0.1:8000', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 's3cret', PORT: '8080' }
const good = configText({ keyPrefix: 'helpdesk:' })

function problemsOf(text: string, withEnv: NodeJS.ProcessEnv = env): string[] {
  const result = loadConfigText(text, 'cfg.yaml', withEnv)
  return result.ok ? [] : describeProblems(result)
}

t.test('the contract config loads, compiled and frozen', async (t) => {
  const result = loadConfigText(good, 'cfg.yaml', env)
  t.ok(result.ok)
  if (!result.ok) return
  const { config } = result
  t.equal(config.upstream.origin, 'http://127.0.0.1:8000')
  t.same(config.routes.map((r) => [r.name, r.ttlMs, r.scope]), [['tickets', 300_000, 'user'], ['people-search', 600_000, 'tenant'], ['attendance', 3_600_000, 'user']])
  t.equal(config.store.kind, 'redis')
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.routes[0]))
  t.ok(config.routes[2]?.match('/api/v2/attendance/'), 'a trailing * matches the empty rest')
  t.ok(config.routes[2]?.match('/api/v2/attendance/summary/'))
  t.notOk(config.routes[2]?.match('/api/v2/attendance'))
})

t.test('a missing environment variable is named', async (t) => {
  t.same(problemsOf(good, { ...env, JWT_SECRET: undefined }), ['cfg.yaml:11: identity.jwt.secret: environment variable JWT_SECRET is not set'])
})

t.test('${VAR:-default} and an empty store.redis select the memory store', async (t) => {
  const result = loadConfigText(good.replace('${REDIS_URL}', '${NO_SUCH_REDIS:-}'), 'cfg.yaml', env)
  t.ok(result.ok && result.config.store.kind === 'memory')
})

t.test('every problem is reported with file, line, path and reason', async (t) => {
  const bad = good
    .replace('ttl: 5m', 'ttl: 5mm')
    .replace('scope: tenant', 'scope: tenant\n    colour: blue')
    .replace('"people:{tenant}"', '"people:{tenant}:{user}"')
    .replace('name: attendance', 'name: tickets')
  const problems = problemsOf(bad)
  t.match(problems.join('\n'), /cfg\.yaml:\d+: routes\[0\]\.ttl: is not a duration/)
  t.match(problems.join('\n'), /cfg\.yaml:\d+: routes\[1\]\.colour: unknown key "colour"/)
  const second = problemsOf(good.replace('"people:{tenant}"', '"people:{tenant}:{user}"').replace('name: attendance', 'name: tickets').replace('ttl: 1h', 'ttl: 0'))
  t.match(second.join('\n'), /routes\[1\]\.tags\[0\]: unknown placeholder \{user\}.*needs scope: user/)
  t.match(second.join('\n'), /routes\[2\]\.name: duplicate route name "tickets" \(also routes\[0\]\)/)
  t.match(second.join('\n'), /routes\[2\]\.ttl: ttl must be greater than zero/)
})

t.test('wrong types, bad URLs, bad templates and bad paths are errors', async (t) => {
  t.match(problemsOf(good.replace('port: 0', 'port: eighty')).join(), /listen\.port: must be integer/)
  t.match(problemsOf(good, { ...env, UPSTREAM_URL: 'ftp://x' }).join(), /upstream: "ftp:\/\/x" is not an http\(s\) base URL/)
  t.match(problemsOf(good.replace('"people:{tenant}"', '"people:{ten ant}"')).join(), /routes\[1\]\.tags\[0\]: segment/)
  t.match(problemsOf(good.replace('path: /api/v2/people/search/', 'path: /api/*/x')).join(), /routes\[1\]\.path: "\*" is only allowed as the last segment/)
  t.match(problemsOf(good.replace('scope: tenant', 'scope: everyone')).join(), /routes\[1\]\.scope: must be one of tenant, user/)
})

t.test('algorithm confusion cannot be configured', async (t) => {
  t.match(problemsOf(good.replace('algorithms: [HS256]', 'algorithms: [HS256, RS256]')).join(), /identity\.jwt\.algorithms\[1\]: RS256 cannot be used with a secret/)
  t.match(problemsOf(good.replace('algorithms: [HS256]', 'algorithms: [none]')).join(), /none cannot be used/)
})

t.test('invalidation rules are checked', async (t) => {
  const withRules = (tables: string) => `${good}\ninvalidation:\n  database: postgres://x\n  slot: s1\n  publication: p1\n  tables:\n${tables}`
  t.same(problemsOf(withRules('    y_helpdesk_ticket: ["tickets:{client_id}:{reporter_id}"]\n    hr.peoples: ["people:{client_id}"]\n')), [])
  t.match(problemsOf(withRules('    "bad table!": ["x:{a}"]\n')).join(), /invalidation\.tables\.bad table!: "bad table!" is not a table name/)
  t.match(problemsOf(withRules('    t: ["x:{params.a}"]\n')).join(), /placeholders of table rules name columns/)
})

t.test('YAML syntax errors and truncated files are reported with a line', async (t) => {
  t.match(problemsOf('upstream: [unclosed\n').join(), /cfg\.yaml:\d+: \(root\): YAML:/)
  t.match(problemsOf(good.slice(0, good.indexOf('routes:') + 20)).join('\n'), /cfg\.yaml/)
  t.match(problemsOf('').join(), /must be object|is required/)
})

t.test('store.redisCluster: a list or one comma-separated string; checked like store.redis', async (t) => {
  const cluster = good.replace('redis: ${REDIS_URL}', 'redisCluster: ${REDIS_CLUSTER}')
  const asString = loadConfigText(cluster, 'cfg.yaml', { ...env, REDIS_CLUSTER: 'redis://a:7001, redis://b:7002' })
  t.ok(asString.ok && asString.config.store.kind === 'redis-cluster' && asString.config.store.urls.length === 2)
  const asList = loadConfigText(good.replace('redis: ${REDIS_URL}', 'redisCluster: ["redis://a:7001", "redis://b:7002"]'), 'cfg.yaml', env)
  t.ok(asList.ok && asList.config.store.kind === 'redis-cluster' && asList.config.store.urls[1] === 'redis://b:7002')
  t.match(problemsOf(cluster, { ...env, REDIS_CLUSTER: 'redis://a:7001,http://b' }).join(), /store\.redisCluster\[1\]: "http:\/\/b" is not a redis:\/\/ or rediss:\/\/ URL/)
  t.match(problemsOf(good.replace('redis: ${REDIS_URL}', 'redis: ${REDIS_URL}\n  redisCluster: redis://a:1')).join(), /store: set store\.redis .* or store\.redisCluster .*, not both/)
  t.match(problemsOf(cluster.replace('keyPrefix: "helpdesk:"', 'keyPrefix: "{x}:"'), { ...env, REDIS_CLUSTER: 'redis://a:1' }).join(), /store\.keyPrefix: with store\.redisCluster the key prefix must not contain \{ or \}/)
  const empty = loadConfigText(cluster, 'cfg.yaml', { ...env, REDIS_CLUSTER: '' })
  t.ok(empty.ok && empty.config.store.kind === 'memory', 'empty means unset, as with store.redis')
})

t.test('store.redis may be a Unix socket: unix:///absolute/path, with an optional ?db=N', async (t) => {
  const socket = loadConfigText(good, 'cfg.yaml', { ...env, REDIS_URL: 'unix:///run/redis/redis.sock?db=2' })
  t.ok(socket.ok && socket.config.store.kind === 'redis' && socket.config.store.url === 'unix:///run/redis/redis.sock?db=2')
  for (const bad of ['unix://run/redis.sock', 'unix:///run/redis.sock?password=x', '/run/redis.sock']) {
    t.match(problemsOf(good, { ...env, REDIS_URL: bad }).join(), /store\.redis: ".*" is not a redis:\/\/, rediss:\/\/ or unix:\/\/\/path\/to\/redis\.sock URL/, bad)
  }
})

t.test('with store.redisCluster a route tag names the tenant second (it is placed in the tenant\'s hash slot)', async (t) => {
  const cluster = good.replace('redis: ${REDIS_URL}', 'redisCluster: redis://a:7001')
  t.same(problemsOf(cluster), [], 'the contract routes are all name:{tenant}...')
  t.match(problemsOf(cluster.replace('"people:{tenant}"', '"people:all:{tenant}"')).join(), /routes\[1\]\.tags\[0\]: with store\.redisCluster a route tag's second segment must be \{tenant\}/)
  t.same(problemsOf(good.replace('"people:{tenant}"', '"people:all:{tenant}"')), [], 'one Redis takes any tag')
})

t.test('trustedProxies takes addresses, CIDR ranges and named ranges; anything else is named', async (t) => {
  const withTrusted = (list: string) => good.replace('listen:', `trustedProxies: ${list}\nlisten:`)
  t.same(problemsOf(withTrusted('[10.0.0.0/8, "::1", 192.168.1.7, loopback]')), [])
  const problems = problemsOf(withTrusted('[10.0.0.0/8, 10.0.0.0/33, ingress.local]'))
  t.equal(problems.length, 2)
  t.match(problems.join('\n'), /cfg\.yaml:\d+: trustedProxies\[1\]: "10\.0\.0\.0\/33" is not an IP address, a CIDR range/)
  t.match(problems.join('\n'), /cfg\.yaml:\d+: trustedProxies\[2\]: "ingress\.local" is not an IP address/)
})

t.test('store.stampTtl is not a setting (stamps outlive the longest route lifetime by construction): naming it is an error, not a silent no-op', async (t) => {
  t.match(problemsOf(good.replace('  keyPrefix:', '  stampTtl: 1h\n  keyPrefix:')).join(), /store\.stampTtl: unknown key "stampTtl"/)
})

t.test('identity.jwt.require takes claim names with scalar values', async (t) => {
  const withRequire = (value: string) => good.replace('    claims: { tenant: tenant, user: sub }\n', `    claims: { tenant: tenant, user: sub }\n    require: ${value}\n`)
  t.same(problemsOf(withRequire('{ token_type: access }')), [])
  t.match(problemsOf(withRequire('{ token_type: [access] }')).join(), /identity\.jwt\.require\.token_type: must be string,number,boolean/)
  t.match(problemsOf(withRequire('{}')).join(), /identity\.jwt\.require: must NOT have fewer than 1 properties/)
})
