import type { Redis } from 'ioredis'
import type { BenchDatabase } from './bench-database.js'
import type { CleanupStack } from './cleanup.js'
import type { BenchSettings } from './settings.js'
import type { TokenBook } from './tokens.js'

/** What every scenario receives from the run: shared services, names and secrets of this run. */
export interface BenchContext {
  readonly root: string
  /** dist/bench-build: the compiled bench, examples and src. */
  readonly builtRoot: string
  readonly runId: string
  /** Config files, logs and nginx's cache of this run (removed at the end). */
  readonly tmpDir: string
  readonly settings: BenchSettings
  readonly redis: Redis
  /** Every Redis key of this run starts with it. */
  readonly prefix: string
  readonly jwtSecret: string
  readonly adminToken: string
  readonly tokens: TokenBook
  readonly db: BenchDatabase
  /** The example helpdesk API (its own process, not pinned). */
  readonly upstreamUrl: string
  readonly cleanup: CleanupStack
  say(line: string): void
}
