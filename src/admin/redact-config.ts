import type { CompiledConfig } from '../config/types.js'
import { redactUrl } from '../config/compile-config.js'

/** The running config as ops wrote it, with every secret replaced. */
export function redactConfig(config: CompiledConfig): Record<string, unknown> {
  return {
    source: config.source,
    upstream: config.upstream.href,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    preserveHost: config.preserveHost,
    trustedProxies: config.trustedProxies,
    listen: config.listen,
    store: config.store.kind === 'redis' ? { ...config.store, url: redactUrl(config.store.url) }
      : config.store.kind === 'redis-cluster' ? { ...config.store, urls: config.store.urls.map(redactUrl) } : config.store,
    identity: config.identity.kind === 'jwt'
      ? { kind: 'jwt', jwt: { ...config.identity.jwt, key: config.identity.jwt.keyKind === 'secret' ? '[redacted]' : config.identity.jwt.key } }
      : config.identity,
    routes: config.routes.map((r) => ({
      name: r.name, path: r.path, ttlMs: r.ttlMs, scope: r.scope, tags: r.tags.map((t) => t.source), query: r.query,
      methods: [...r.methods], statuses: [...r.statuses], vary: r.vary, honourClientNoCache: r.honourClientNoCache, maxEntryBytes: r.maxEntryBytes,
    })),
    invalidation: config.invalidation && {
      ...config.invalidation,
      database: redactUrl(config.invalidation.database),
      tables: config.invalidation.tables.map((t) => ({ name: t.name, tags: t.tags.map((x) => x.source) })),
    },
    admin: config.admin && { ...config.admin, token: '[redacted]' },
    logLevel: config.logLevel,
  }
}
