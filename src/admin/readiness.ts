import { request } from 'undici'
import type { CompiledConfig } from '../config/types.js'
import type { CacheStore } from '../store/store.js'
import type { ListenerStatus } from '../invalidation/listener-status.js'
import { isWithinFreshnessBound } from '../request/lookup.js'

export interface Check { readonly ok: boolean; readonly detail?: string }

export interface ReadinessInput {
  readonly config: CompiledConfig
  readonly store: CacheStore
  readonly replication: (() => ListenerStatus) | undefined
  readonly now: number
}

/** Readiness: the upstream answers, the store answers, replication is healthy and the watermark fresh. */
export async function checkReadiness(input: ReadinessInput): Promise<{ ready: boolean; checks: Record<string, Check> }> {
  const [upstream, store, watermark] = await Promise.all([checkUpstream(input.config), checkStore(input.store), input.config.invalidation ? checkWatermark(input) : undefined])
  const checks: Record<string, Check> = { upstream, store }
  if (watermark) checks.watermark = watermark
  if (input.replication) checks.replication = checkReplication(input.replication())
  return { ready: Object.values(checks).every((c) => c.ok), checks }
}

/** Any HTTP answer counts: a 401 or 404 from the API still means it is reachable. */
async function checkUpstream(config: CompiledConfig): Promise<Check> {
  try {
    const res = await request(config.upstream, { method: 'HEAD', headersTimeout: 2000, bodyTimeout: 2000 })
    await res.body.dump()
    return { ok: true, detail: `HTTP ${res.statusCode}` }
  } catch (err) {
    return { ok: false, detail: (err as Error).message }
  }
}

async function checkStore(store: CacheStore): Promise<Check> {
  try {
    await store.ping()
    return { ok: true, detail: store.kind }
  } catch (err) {
    return { ok: false, detail: (err as Error).message }
  }
}

async function checkWatermark(input: ReadinessInput): Promise<Check> {
  try {
    const watermark = await input.store.readWatermark()
    const boundMs = input.config.invalidation?.freshnessBoundMs
    const ok = isWithinFreshnessBound(watermark, input.now, { freshnessBoundMs: boundMs })
    return { ok, detail: watermark === null ? 'no watermark yet' : `age ${input.now - watermark} ms, bound ${boundMs} ms` }
  } catch (err) {
    return { ok: false, detail: (err as Error).message }
  }
}

/** Rules naming missing columns are said, not failed on: those tables still invalidate (widened). */
function checkReplication(status: ListenerStatus): Check {
  const drift = describeRuleColumnDrift(status) + describeTableDrift(status)
  return status.state === 'disconnected'
    ? { ok: false, detail: `disconnected${status.lastError ? `: ${status.lastError}` : ''}${drift}` }
    : { ok: true, detail: `${status.state}${drift}` }
}

function describeTableDrift(status: ListenerStatus): string {
  if (status.tableDrift.length === 0) return ''
  const tables = status.tableDrift.map((d) => d.kind === 'renamed' ? `${d.table} renamed to ${d.renamedTo}` : `${d.table} ${d.kind}`)
  return `; watched tables differ from the config: ${tables.join(', ')}`
}

function describeRuleColumnDrift(status: ListenerStatus): string {
  if (status.missingRuleColumns.length === 0) return ''
  const tables = status.missingRuleColumns.map((t) => `${t.table} (${t.missingColumns.join(', ')})`)
  return `; invalidation rules name missing columns, their changes invalidate widely: ${tables.join(', ')}`
}
