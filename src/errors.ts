/**
 * Every error the product raises carries a code from this one table, so logs, the CLI and
 * the admin API speak the same words. `test/errors.test.ts` checks each code is documented
 * in docs/errors.md.
 */
export const ERROR_CODES = {
  CCP_CONFIG_READ: 'The config file could not be read',
  CCP_CONFIG_YAML: 'The config file is not valid YAML',
  CCP_CONFIG_ENV: 'A ${VAR} in the config names an environment variable that is not set',
  CCP_CONFIG_INVALID: 'The config does not match the schema or its values are inconsistent',
  CCP_STORE_UNAVAILABLE: 'The cache store (Redis) did not answer in time or is disconnected',
  CCP_UPSTREAM_UNREACHABLE: 'The upstream refused or reset the connection',
  CCP_UPSTREAM_TIMEOUT: 'The upstream did not answer within upstreamTimeout',
  CCP_REPLICATION_SETUP: 'Postgres is not ready for logical replication (wal_level, privileges, publication, slot)',
  CCP_REPLICATION_STREAM: 'The replication stream failed; the listener reconnects and resumes from the slot',
  CCP_PURGE_FAILED: 'An invalidation could not be applied to the store; it is retried and not acknowledged',
  CCP_USAGE: 'The command line was not understood',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class ProxyError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProxyError'
    this.code = code
  }
}

export function isProxyError(err: unknown, code?: ErrorCode): err is ProxyError {
  return err instanceof ProxyError && (code === undefined || err.code === code)
}
