import type { CompiledConfig } from './types.js'
import { makeIdentityResolver, type IdentityResolver } from '../request/identity.js'

/** A compiled config plus what is derived from it once per load (never per request). */
export interface ActiveConfig {
  readonly config: CompiledConfig
  readonly resolveIdentity: IdentityResolver
  /** Where the config file differs from what runs, for the parts wired at start (config/plan-reload.ts). */
  readonly pendingRestart: readonly string[]
}

export function makeActiveConfig(config: CompiledConfig, pendingRestart: readonly string[] = []): ActiveConfig {
  return { config, resolveIdentity: makeIdentityResolver(config.identity), pendingRestart }
}

/**
 * Holds the config requests start with. A reload swaps the whole object atomically; a request
 * keeps the one it read at its start until it finishes.
 */
export interface ConfigHolder {
  current(): ActiveConfig
  swap(next: ActiveConfig): void
}

export function makeConfigHolder(initial: ActiveConfig): ConfigHolder {
  let active = initial
  return { current: () => active, swap: (next) => { active = next } }
}
