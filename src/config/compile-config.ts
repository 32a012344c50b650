import proxyAddr from '@fastify/proxy-addr'
import type { CompiledConfig, CompiledRoute, StoreConfig } from './types.js'
import { ProblemList } from './problems.js'
import { REDIS_SOCKET_URL, REDIS_URL } from './redis-url.js'
import { parseDuration, parseSize } from './duration.js'
import { compileRoute, take, type RawRoute } from './compile-route.js'
import { compileIdentity, type RawIdentity } from './compile-identity.js'
import { compileInvalidation, type RawInvalidation } from './compile-invalidation.js'

/** The shape the schema guarantees. */
export interface RawConfig {
  upstream: string
  upstreamTimeout?: string | number
  preserveHost?: boolean
  trustedProxies?: string[]
  listen: { host?: string; port: number }
  store?: {
    redis?: string; redisCluster?: string | string[]; keyPrefix?: string; timeout?: string | number; maxEntrySize?: string | number
    memory?: { maxEntries?: number; maxSize?: string | number }
    compression?: 'gzip' | 'none'; compressAbove?: string | number
    l1?: { enabled?: boolean; maxEntries?: number; maxSize?: string | number; maxAge?: string | number }
  }
  identity: RawIdentity
  routes: RawRoute[]
  invalidation?: RawInvalidation
  admin?: { host?: string; port: number; token: string }
  log?: { level?: string }
}

export function compileConfig(raw: RawConfig, source: string, problems: ProblemList): CompiledConfig | undefined {
  const upstream = compileUpstream(raw.upstream, problems)
  const isTrustedProxy = compileTrustedProxies(raw.trustedProxies ?? [], problems)
  const store = compileStore(raw, problems)
  const routes = compileRoutes(raw.routes, store.maxEntryBytes, problems)
  if (store.kind === 'redis-cluster') checkClusterRouteTags(raw.routes.map((r) => r.tags ?? []), problems)
  const identity = compileIdentity(raw.identity, problems)
  const invalidation = compileInvalidation(raw.invalidation, problems)
  if (raw.admin && raw.admin.port === raw.listen.port && raw.admin.port !== 0) {
    problems.add(['admin', 'port'], 'the admin port must differ from the proxy port (admin endpoints are never public)')
  }
  if (!problems.empty || !upstream || !identity) return undefined
  return {
    source,
    upstream,
    upstreamTimeoutMs: raw.upstreamTimeout === undefined ? 30_000 : take(parseDuration(raw.upstreamTimeout), ['upstreamTimeout'], problems, 30_000),
    preserveHost: raw.preserveHost ?? true,
    trustedProxies: raw.trustedProxies ?? [],
    isTrustedProxy,
    listen: { host: raw.listen.host ?? '127.0.0.1', port: raw.listen.port },
    store,
    identity,
    routes,
    invalidation,
    admin: raw.admin ? { host: raw.admin.host ?? '127.0.0.1', port: raw.admin.port, token: raw.admin.token } : undefined,
    logLevel: raw.log?.level ?? 'info',
  }
}

/**
 * The peers whose X-Forwarded-Proto/-Host are believed: addresses, CIDR ranges, or the names
 * loopback, linklocal and uniquelocal (as Fastify's and Express's trustProxy take them).
 */
function compileTrustedProxies(entries: readonly string[], problems: ProblemList): ((address: string) => boolean) | undefined {
  if (entries.length === 0) return undefined
  let valid = true
  entries.forEach((entry, i) => {
    try { proxyAddr.compile(entry) } catch (err) {
      valid = false
      problems.add(['trustedProxies', i], `"${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal (${(err as Error).message})`)
    }
  })
  if (!valid) return undefined
  const trusts = proxyAddr.compile([...entries])
  return (address) => trusts(address, 0)
}

function compileUpstream(text: string, problems: ProblemList): URL | undefined {
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)')
    if (url.search || url.hash) throw new Error('no query or fragment')
    return url
  } catch {
    problems.add(['upstream'], `"${text}" is not an http(s) base URL (e.g. http://127.0.0.1:8000)`)
    return undefined
  }
}

function compileStore(raw: RawConfig, problems: ProblemList): StoreConfig {
  const store = raw.store ?? {}
  const keyPrefix = store.keyPrefix ?? 'ccp:'
  const maxEntryBytes = store.maxEntrySize === undefined ? 1 << 20 : take(parseSize(store.maxEntrySize), ['store', 'maxEntrySize'], problems, 0)
  const compressAboveBytes = store.compression === 'none' ? Infinity
    : store.compressAbove === undefined ? 1024 : take(parseSize(store.compressAbove), ['store', 'compressAbove'], problems, 1024)
  const timeoutMs = () => store.timeout === undefined ? 100 : take(parseDuration(store.timeout), ['store', 'timeout'], problems, 100)
  // An empty store.redis or store.redisCluster (e.g. `${REDIS_URL:-}`) means the same as leaving it out.
  const clusterUrls = typeof store.redisCluster === 'string' ? store.redisCluster.split(',').map((u) => u.trim()).filter((u) => u !== '') : store.redisCluster ?? []
  if (store.redis && clusterUrls.length > 0) problems.add(['store'], 'set store.redis (one Redis) or store.redisCluster (a Redis Cluster), not both')
  if (store.redis) {
    if (!REDIS_URL.test(store.redis) && !REDIS_SOCKET_URL.test(store.redis)) problems.add(['store', 'redis'], `"${redactUrl(store.redis)}" is not a redis://, rediss:// or unix:///path/to/redis.sock URL`)
    return { kind: 'redis', url: store.redis, keyPrefix, timeoutMs: timeoutMs(), maxEntryBytes, compressAboveBytes, l1: compileL1(store.l1, problems) }
  }
  if (clusterUrls.length > 0) {
    clusterUrls.forEach((url, i) => {
      if (!REDIS_URL.test(url)) problems.add(['store', 'redisCluster', i], `"${redactUrl(url)}" is not a redis:// or rediss:// URL`)
    })
    // Keys are `<prefix>{t:<tenant>}...`: a brace in the prefix would become the hash tag instead.
    if (/[{}]/.test(keyPrefix)) problems.add(['store', 'keyPrefix'], 'with store.redisCluster the key prefix must not contain { or } (the tenant is the hash tag)')
    return { kind: 'redis-cluster', urls: clusterUrls, keyPrefix, timeoutMs: timeoutMs(), maxEntryBytes, compressAboveBytes, l1: compileL1(store.l1, problems) }
  }
  const maxBytes = store.memory?.maxSize === undefined ? 256 << 20 : take(parseSize(store.memory.maxSize), ['store', 'memory', 'maxSize'], problems, 0)
  return { kind: 'memory', keyPrefix, maxEntries: store.memory?.maxEntries ?? 10_000, maxBytes, maxEntryBytes, compressAboveBytes, l1: undefined }
}

function compileL1(raw: NonNullable<RawConfig['store']>['l1'], problems: ProblemList) {
  if (raw?.enabled === false) return undefined
  return {
    maxEntries: raw?.maxEntries ?? 10_000,
    maxBytes: raw?.maxSize === undefined ? 64 << 20 : take(parseSize(raw.maxSize), ['store', 'l1', 'maxSize'], problems, 64 << 20),
    maxAgeMs: raw?.maxAge === undefined ? 1000 : take(parseDuration(raw.maxAge), ['store', 'l1', 'maxAge'], problems, 1000),
  }
}

function compileRoutes(raws: RawRoute[], maxEntryBytes: number, problems: ProblemList): CompiledRoute[] {
  const seen = new Map<string, number>()
  const routes: CompiledRoute[] = []
  raws.forEach((raw, i) => {
    const first = seen.get(raw.name)
    if (first !== undefined) problems.add(['routes', i, 'name'], `duplicate route name "${raw.name}" (also routes[${first}])`)
    seen.set(raw.name, first ?? i)
    const route = compileRoute(raw, ['routes', i], { maxEntryBytes }, problems)
    if (route) routes.push(route)
  })
  return routes
}


/**
 * In a Redis Cluster every key an entry needs (entry, stamps, lock) lives in its tenant's hash
 * slot, and a tag's slot is read from its second segment (store/cluster-layout.ts). A route tag
 * must therefore be `name` or `name:{tenant}[:...]`, so that it lands beside the entry.
 */
export function checkClusterRouteTags(routeTags: readonly (readonly string[])[], problems: ProblemList, because = 'with store.redisCluster'): void {
  routeTags.forEach((tags, i) => tags.forEach((source, j) => {
    const second = source.split(':')[1]
    if (second !== undefined && second !== '{tenant}') {
      problems.add(['routes', i, 'tags', j], `${because} a route tag's second segment must be {tenant} (e.g. "tickets:{tenant}:{user}"), not "${second}"`)
    }
  }))
}

/** Never print credentials found in a URL. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^/@]*)@/, '//***@')
}
