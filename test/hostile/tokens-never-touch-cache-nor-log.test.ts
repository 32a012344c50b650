import t from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { makeLogger } from '../../src/logger.js'
import { startProxy } from '../../src/server.js'
import { uniquePrefix } from '../helpers/env.js'
import { makeRsaPair, nowSeconds, signJwt, signJwtText } from '../helpers/hostile-tokens.js'
import { startOrigin } from '../helpers/origin.js'
import { configText } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-request.js'
import { makePrivateRedis } from '../helpers/redis-server.js'
import { unsignedToken } from '../helpers/tokens.js'
import { waitFor } from '../helpers/replication.js'

/**
 * Hostile tokens against a route verified with an RSA public key (RS256): `alg: none`,
 * HS/RS confusion (the public key used as an HMAC secret), another key, an algorithm not
 * allowed, expired, not yet valid, issued in the future, without exp, an aud when none is
 * configured, a missing or non-string tenant or user, oversize, garbage. Each is
 * passed to the upstream as BYPASS. The proof that the cache is neither read nor written is
 * Redis' own command counters (a private redis-server that only this proxy uses): not one
 * command while they are served. The proxy logs at trace level into a captured stream, and
 * no token, nor any part of one, appears in it.
 */
const path = '/api/v2/helpdesk/tickets/'

async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let calls = 0
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) if (match[1] !== 'info') calls += Number(match[2])
  return calls
}

t.test('hostile tokens bypass the cache without a single store command, never crash it, and are never logged', async (t) => {
  const pair = makeRsaPair()
  const otherPair = makeRsaPair()
  const redis = await makePrivateRedis()
  await redis.start()
  let redisStopped = false // the helper's stop() must not run twice (it would wait for an exit already seen)
  t.teardown(async () => { if (!redisStopped) await redis.stop() })
  const origin = await startOrigin()
  t.teardown(() => origin.close())
  const identity = 'identity:\n  jwt:\n    publicKey: ${JWT_PUBLIC_KEY}\n    algorithms: [RS256]\n    claims: { tenant: tenant, user: sub }\n'
  const configFile = join(await mkdtemp(join(tmpdir(), 'ccp-tokens-')), 'config.yaml')
  await writeFile(configFile, configText({ keyPrefix: uniquePrefix('tokens'), identity }))
  const logs: string[] = []
  const proxy = await startProxy({
    configFile, watch: false, log: makeLogger('trace', { write: (line: string) => { logs.push(line) } }),
    env: { ...process.env, UPSTREAM_URL: origin.url, REDIS_URL: redis.url, JWT_PUBLIC_KEY: pair.publicKey },
  })
  t.teardown(() => proxy.close())
  const probe = new Redis(redis.url, { retryStrategy: () => null })
  probe.on('error', () => {}) // Redis is stopped at the end on purpose
  t.teardown(() => probe.disconnect())
  await waitFor(async () => { await proxy.store.ping(); return true }, { timeoutMs: 5000, what: 'the store' })

  const claims = { tenant: 't1', sub: 'u1', exp: nowSeconds() + 600 }
  const rs = (payload: unknown, header: Record<string, unknown> = {}) => signJwt({ alg: 'RS256', typ: 'JWT', ...header }, payload, { rsa: pair.privateKey })
  const valid = rs(claims)
  const ask = (authorization: string | undefined) => rawRequest(proxy.url, path, { headers: authorization === undefined ? {} : { authorization } })
  t.equal((await ask(`Bearer ${valid}`)).headers['x-cache'], 'MISS', 'a valid RS256 token is cached (the control)')
  t.equal((await ask(`Bearer ${valid}`)).headers['x-cache'], 'HIT')

  const [h, p] = valid.split('.') as [string, string, string]
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const hostile: Record<string, string> = {
    'alg none': unsignedToken(claims),
    'alg NONE': `${b64({ alg: 'NONE' })}.${p}.`,
    'RS256 header, signature removed': `${h}.${p}.`,
    'RS256 header, signature of another token': `${h}.${p}.${rs({ tenant: 't2' }).split('.')[2]}`,
    'HS256 with the RSA public key as secret': signJwt({ alg: 'HS256', typ: 'JWT' }, claims, { hmac: pair.publicKey }),
    'HS256 with the public key, no trailing newline': signJwt({ alg: 'HS256' }, claims, { hmac: pair.publicKey.trim() }),
    'HS512 with the RSA public key as secret': signJwt({ alg: 'HS512' }, claims, { hmac: pair.publicKey }),
    'RS256 signed by another key': signJwt({ alg: 'RS256' }, claims, { rsa: otherPair.privateKey }),
    'RS512 (not an allowed algorithm)': signJwt({ alg: 'RS512' }, claims, { rsa: pair.privateKey }),
    'jku and kid pointing elsewhere': signJwt({ alg: 'RS256', jku: 'http://127.0.0.1:1/jwks', kid: '../../../dev/null' }, claims, { rsa: otherPair.privateKey }),
    'expired': rs({ ...claims, exp: nowSeconds() - 60 }),
    'not yet valid': rs({ ...claims, nbf: nowSeconds() + 600 }),
    'tenant missing': rs({ sub: 'u1' }),
    'tenant an object': rs({ tenant: { id: 't1' }, sub: 'u1' }),
    'tenant an array': rs({ tenant: ['t1'], sub: 'u1' }),
    'tenant a float': rs({ tenant: 1.5, sub: 'u1' }),
    'tenant a boolean': rs({ tenant: true, sub: 'u1' }),
    'tenant null': rs({ tenant: null, sub: 'u1' }),
    'tenant empty': rs({ tenant: '', sub: 'u1' }),
    'tenant with spaces': rs({ tenant: ' t1 ', sub: 'u1' }),
    'tenant 300 characters': rs({ tenant: 't'.repeat(300), sub: 'u1' }),
    'tenant an unsafe integer': rs({ tenant: 2 ** 60, sub: 'u1' }),
    // 2^53 + 1: JSON.parse rounds it to 2^53, another tenant of an upstream that reads integers exactly.
    'tenant 2^53 + 1': signJwtText({ alg: 'RS256', typ: 'JWT' }, `{"tenant":9007199254740993,"sub":"u1","exp":${claims.exp}}`, { rsa: pair.privateKey }),
    'user an object': rs({ tenant: 't1', sub: { id: 'u1' } }),
    'user missing': rs({ tenant: 't1', exp: claims.exp }),
    'user an unsafe integer': rs({ ...claims, sub: 2 ** 60 }),
    'exp missing': rs({ tenant: 't1', sub: 'u1' }),
    'iat in the future': rs({ ...claims, iat: nowSeconds() + 600 }),
    'iat not a number': rs({ ...claims, iat: 'now' }),
    'aud, none configured': rs({ ...claims, aud: 'another-service' }),
    'payload an array': rs(['t1']),
    'payload a string': rs('t1'),
    'oversize (valid signature)': rs({ ...claims, padding: 'p'.repeat(9000) }),
    'garbage': 'garbage',
    'two parts': 'a.b',
    'three garbage parts': 'a.b.c',
    'dots only': '...',
    'not base64url': '@@@.###.$$$',
    'header not JSON': `${Buffer.from('not json').toString('base64url')}.${p}.sig`,
    'header a JSON array': `${b64(['RS256'])}.${p}.sig`,
    'payload not JSON': `${h}.${Buffer.from('{tenant:').toString('base64url')}.sig`,
    'four parts': `${valid}.extra`,
    'padding characters': `${h}==.${p}==.sig==`,
  }
  const schemes: Record<string, string | undefined> = {
    'no Authorization': undefined,
    'Basic scheme': `Basic ${Buffer.from('t1:u1').toString('base64')}`,
    'Token scheme': `Token ${valid}`,
    'Bearer with nothing': 'Bearer ',
    'Bearer with two tokens': `Bearer ${valid} ${valid}`,
    'Bearer, comma, Bearer': `Bearer ${valid},Bearer ${valid}`,
  }

  const before = await commandCount(probe)
  const report: string[] = []
  const cases: [string, string | undefined][] = [
    ...Object.entries(hostile).map(([name, token]): [string, string] => [name, `Bearer ${token}`]),
    ...Object.entries(schemes),
  ]
  for (const [name, authorization] of cases) {
    const res = await ask(authorization)
    t.equal(res.status, 200, `${name}: the upstream answered`)
    t.equal(res.headers['x-cache'], 'BYPASS', `${name}: bypassed`)
    t.match(res.headers['cache-status'], /detail=(INVALID-TOKEN|NO-IDENTITY)$/, `${name}: ${String(res.headers['cache-status']).split('detail=')[1]}`)
    report.push(`${name}: ${String(res.headers['cache-status']).split('detail=')[1]}`)
  }
  const after = await commandCount(probe)
  t.equal(after - before, 0, `not one Redis command for ${cases.length} hostile requests`)
  t.comment(report.join('; '))
  t.equal((await ask(`Bearer ${valid}`)).headers['x-cache'], 'HIT', 'the proxy is alive and its entry intact')

  // Paths that log with a token in the request: the upstream failing, and Redis gone.
  origin.respond = (_req, _body, res) => { res.socket?.destroy(); return undefined }
  for (const token of [valid, hostile["HS256 with the RSA public key as secret"] as string]) t.equal((await rawRequest(proxy.url, `${path}?fail=1`, { headers: { authorization: `Bearer ${token}` } })).status, 502)
  origin.respond = () => ({ body: 'ok' })
  await redis.stop()
  redisStopped = true
  t.equal((await ask(`Bearer ${valid}`)).headers['cache-status'], 'cdc-cache-proxy; fwd=bypass; detail=STORE-UNAVAILABLE')

  const logged = logs.join('')
  t.match(logged, /INVALID-TOKEN/, 'the log was captured at debug level (the check below can fail)')
  t.match(logged, /upstream request failed/)
  t.match(logged, /cache store operation failed/)
  const secrets = [valid, ...Object.values(hostile)].flatMap((token) => [token, ...token.split('.').filter((s) => s.length >= 16)])
  const leaked = secrets.filter((secret) => logged.includes(secret))
  t.same(leaked.map((s) => s.slice(0, 24)), [], `no token nor token part among ${logs.length} log lines`)
})
