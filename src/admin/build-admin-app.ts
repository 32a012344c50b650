import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { ConfigHolder } from '../config/active-config.js'
import { loadConfigText, type ConfigResult } from '../config/load-config.js'
import { describeProblems } from '../config/describe-problems.js'
import type { Metrics } from '../metrics.js'
import type { CacheStore } from '../store/store.js'
import type { ListenerStatus } from '../invalidation/listener-status.js'
import { routeTag } from '../tags/tag-template.js'
import { makeTokenCheck } from './check-token.js'
import { checkReadiness } from './readiness.js'
import { explainRequest } from './explain-request.js'
import { explainRow } from './explain-row.js'
import { redactConfig } from './redact-config.js'
import { collectStats, type RecentInvalidations } from './stats.js'
import { DASHBOARD_HTML } from './dashboard-page.js'

export interface AdminDeps {
  readonly token: string
  readonly holder: ConfigHolder
  readonly store: CacheStore
  readonly metrics: Metrics
  readonly clock: Clock
  readonly log: Logger
  readonly replication: (() => ListenerStatus) | undefined
  readonly reload: () => Promise<ConfigResult>
  readonly env: NodeJS.ProcessEnv
  readonly recent: RecentInvalidations
}

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/'])

/** The admin server: its own port, never the proxy's; every endpoint but the probes and the page needs the token. */
export async function buildAdminApp(deps: AdminDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
  const authorized = makeTokenCheck(deps.token)
  app.addContentTypeParser(['application/yaml', 'text/yaml', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (OPEN_PATHS.has(path)) return
    if (!authorized(request.headers.authorization)) {
      reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', message: 'Authorization: Bearer <admin token> required' })
    }
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const active = deps.holder.current()
    const result = await checkReadiness({ config: active.config, store: deps.store, replication: deps.replication, now: deps.clock.now() })
    return reply.code(result.ready ? 200 : 503).send(result)
  })
  app.get('/metrics', async (_request, reply) => {
    await refreshGauges(deps)
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics())
  })
  app.get('/status', async () => ({
    replication: deps.replication?.() ?? null,
    watermark: await deps.store.readWatermark().catch(() => null),
    store: await deps.store.describe().catch((err: Error) => ({ error: err.message })),
    now: deps.clock.now(),
  }))
  app.post('/purge', async (request, reply) => handlePurge(deps, request.body, reply))
  app.get('/config', async () => {
    const active = deps.holder.current()
    return { ...redactConfig(active.config), pendingRestart: active.pendingRestart }
  })
  app.post('/config/validate', async (request) => {
    const result = loadConfigText(String(request.body ?? ''), '<request body>', deps.env)
    return result.ok ? { valid: true, problems: [] } : { valid: false, problems: describeProblems(result) }
  })
  app.post('/config/reload', async (_request, reply) => {
    const result = await deps.reload()
    return result.ok ? { reloaded: true, pendingRestart: deps.holder.current().pendingRestart } : reply.code(422).send({ reloaded: false, problems: describeProblems(result) })
  })
  app.get('/explain', async (request, reply) => {
    const query = request.query as { method?: string; url?: string }
    if (!query.url?.startsWith('/')) return reply.code(400).send({ error: '?url=/path?query is required' })
    const active = deps.holder.current()
    const auth = request.headers['x-explain-authorization']
    return explainRequest(active, { method: query.method ?? 'GET', url: query.url, host: String(request.headers['x-explain-host'] ?? ''), proto: request.headers['x-explain-proto'] === 'https' ? 'https' : 'http', authorization: typeof auth === 'string' ? auth : undefined })
  })
  app.post('/explain/row', async (request, reply) => {
    const result = explainRow(deps.holder.current().config, (request.body ?? {}) as Record<string, unknown>)
    return result.ok ? result : reply.code(400).send({ error: result.error })
  })
  app.get('/stats', async () => ({
    ...(await collectStats(deps.metrics)),
    replication: deps.replication?.() ?? null,
    watermark: await deps.store.readWatermark().catch(() => null),
    freshnessBoundMs: deps.holder.current().config.invalidation?.freshnessBoundMs ?? null,
    now: deps.clock.now(),
    recentInvalidations: deps.recent.list(),
  }))
  // The page is public; every number on it comes from /stats, which needs the token.
  app.get('/', async (_request, reply) => reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('referrer-policy', 'no-referrer')
    .send(DASHBOARD_HTML))
  return app
}

async function handlePurge(deps: AdminDeps, body: unknown, reply: import('fastify').FastifyReply) {
  const b = (body ?? {}) as { tags?: unknown; pattern?: unknown; route?: unknown; tenant?: unknown }
  const started = Date.now()
  if (Array.isArray(b.tags) && b.tags.length > 0 && b.tags.every((t) => typeof t === 'string' && t.length > 0)) {
    const deleted = await deps.store.invalidateTags(b.tags as string[])
    deps.metrics.tagsPurged.inc(deleted)
    return { purged: 'tags', tags: b.tags.length, stampsDeleted: deleted, ms: Date.now() - started }
  }
  if (typeof b.pattern === 'string' && b.pattern.length > 0) {
    const deleted = await deps.store.invalidateTagPattern(b.pattern)
    deps.metrics.tagsPurged.inc(deleted)
    return { purged: 'pattern', pattern: b.pattern, stampsDeleted: deleted, ms: Date.now() - started }
  }
  if (typeof b.route === 'string' && deps.holder.current().config.routes.some((r) => r.name === b.route)) {
    const tag = typeof b.tenant === 'string' || typeof b.tenant === 'number' ? routeTag(b.route, String(b.tenant)) : `${routeTag(b.route, 'x').slice(0, -1)}*`
    const deleted = await deps.store.invalidateTags([tag])
    return { purged: 'route', tag, stampsDeleted: deleted, ms: Date.now() - started }
  }
  return reply.code(400).send({ error: 'send {"tags": [...]}, {"pattern": "glob"} or {"route": "<configured route>", "tenant": "..."}' })
}

async function refreshGauges(deps: AdminDeps): Promise<void> {
  const watermark = await deps.store.readWatermark().catch(() => null)
  if (watermark !== null) deps.metrics.watermarkAge.set(Math.max(0, deps.clock.now() - watermark) / 1000)
  const status = deps.replication?.()
  if (status) for (const state of ['leader', 'standby', 'disconnected']) deps.metrics.replicationState.set({ state }, status.state === state ? 1 : 0)
}
