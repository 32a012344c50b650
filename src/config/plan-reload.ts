import type { CompiledConfig, InvalidationConfig, StoreConfig } from './types.js'
import { ProblemList, type ConfigProblem } from './problems.js'
import { checkClusterRouteTags } from './compile-config.js'

/**
 * The parts of a config the process wires once, at start, by the names `GET /config` shows:
 * the upstream's connection pool and its timeouts (build-proxy-app), the listening socket, the
 * store client and its key prefix (make-store) and the L1 in front of it (cache-hooks), the
 * replication listener's database, slot, publication, heartbeat and row limit, the admin
 * server and its token, and the logger. Everything else is read per request or applied on
 * reload: routes, identity, invalidation.tables (listener.setRules),
 * invalidation.freshnessBoundMs, store.maxEntryBytes (the routes' default) and
 * store.compressAboveBytes.
 */
const WIRED_AT_START = {
  upstream: (config) => config.upstream.href,
  upstreamTimeoutMs: (config) => config.upstreamTimeoutMs,
  listen: (config) => config.listen,
  store: (config) => wiredStore(config.store),
  invalidation: (config) => config.invalidation && wiredInvalidation(config.invalidation),
  admin: (config) => config.admin,
  logLevel: (config) => config.logLevel,
} satisfies Record<string, (config: CompiledConfig) => unknown>

export type ReloadPlan =
  | {
    readonly ok: true
    /** What requests use from now on: the file's reloadable parts over the running wired parts. */
    readonly config: CompiledConfig
    /** Where the file differs from what runs (`store.keyPrefix`, `invalidation.slot`...): applied by the next restart. */
    readonly pendingRestart: readonly string[]
  }
  | { readonly ok: false; readonly source: string; readonly problems: readonly ConfigProblem[] }

/**
 * A reload of `file` into a process running `running`. The running config's wired parts are
 * the ones it started with (every plan keeps them), so a file restored to those values has no
 * pending change. Refused when the file's reloadable parts do not fit the running wired ones.
 */
export function planReload(running: CompiledConfig, file: CompiledConfig): ReloadPlan {
  const problems = new ProblemList()
  // The file was checked against its own store; the routes will run on the running one.
  if (running.store.kind === 'redis-cluster' && file.store.kind !== 'redis-cluster') {
    checkClusterRouteTags(file.routes.map((r) => r.tags.map((tag) => tag.source)), problems, 'while the running store is a Redis Cluster (a store change waits for a restart),')
  }
  if (!problems.empty) return { ok: false, source: file.source, problems: problems.items }
  return { ok: true, config: keepWiredParts(running, file), pendingRestart: pendingRestart(running, file) }
}

function keepWiredParts(running: CompiledConfig, file: CompiledConfig): CompiledConfig {
  return Object.freeze({
    ...file,
    upstream: running.upstream,
    upstreamTimeoutMs: running.upstreamTimeoutMs,
    listen: running.listen,
    store: Object.freeze({ ...running.store, maxEntryBytes: file.store.maxEntryBytes, compressAboveBytes: file.store.compressAboveBytes }),
    invalidation: running.invalidation && file.invalidation
      ? Object.freeze({ ...running.invalidation, tables: file.invalidation.tables, freshnessBoundMs: file.invalidation.freshnessBoundMs })
      : running.invalidation,
    admin: running.admin,
    logLevel: running.logLevel,
  })
}

function pendingRestart(running: CompiledConfig, file: CompiledConfig): string[] {
  return Object.entries(WIRED_AT_START).flatMap(([name, wired]) => changedPaths(name, wired(running), wired(file)))
}

/** `name` itself, or `name.key` for each key of an object section that differs. */
function changedPaths(name: string, running: unknown, file: unknown): string[] {
  if (!isRecord(running) || !isRecord(file)) return sameValue(running, file) ? [] : [name]
  const keys = [...new Set([...Object.keys(running), ...Object.keys(file)])]
  return keys.filter((key) => !sameValue(running[key], file[key])).map((key) => `${name}.${key}`)
}

function wiredStore(store: StoreConfig): Omit<StoreConfig, 'maxEntryBytes' | 'compressAboveBytes'> {
  const { maxEntryBytes: _perRoute, compressAboveBytes: _perRequest, ...wired } = store
  return wired
}

function wiredInvalidation(invalidation: InvalidationConfig): Omit<InvalidationConfig, 'tables' | 'freshnessBoundMs'> {
  const { tables: _setRules, freshnessBoundMs: _perRequest, ...wired } = invalidation
  return wired
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Compiled sections hold plain data (strings, numbers, arrays of them), built in the same key order. */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
