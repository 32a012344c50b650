import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { SqlClient } from './sql-client.js'

/**
 * The leader writes its own clock into the WAL every interval with
 * `pg_logical_emit_message(transactional => true, ...)`. The message is decoded in commit
 * order, so once its transaction is applied every transaction that committed before it has
 * been purged: its value becomes the freshness watermark. It also keeps the slot's
 * confirmed position moving while the watched tables are idle (pgoutput sends nothing for
 * transactions on other tables, so without it the slot would pin WAL).
 * https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-REPLICATION
 */
export const HEARTBEAT_PREFIX = 'cdc-cache-proxy'

/** The clock value of a heartbeat message, or undefined if the message is not one. */
export function parseHeartbeat(prefix: string, content: string): number | undefined {
  if (prefix !== HEARTBEAT_PREFIX) return undefined
  const ms = Number(content)
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined
}

export interface HeartbeatEmitter {
  start(): void
  stop(): void
}

export interface HeartbeatEmitterOptions {
  readonly sql: SqlClient
  readonly intervalMs: number
  readonly clock: Clock
  readonly log: Logger
}

export function makeHeartbeatEmitter({ sql, intervalMs, clock, log }: HeartbeatEmitterOptions): HeartbeatEmitter {
  let timer: NodeJS.Timeout | undefined
  let inFlight = false

  async function beat(): Promise<void> {
    if (inFlight) return // a slow server must not pile heartbeats up
    inFlight = true
    try {
      // The value is taken before the statement runs, so it is never later than the commit
      // it rides on: the watermark errs on the stale side.
      await sql.query('SELECT pg_logical_emit_message(true, $1::text, $2::text)', [HEARTBEAT_PREFIX, String(clock.now())])
    } catch (err) {
      log.warn({ err, code: 'CCP_REPLICATION_STREAM' }, 'replication heartbeat failed')
    } finally {
      inFlight = false
    }
  }

  return {
    start() {
      if (timer !== undefined) return
      void beat()
      timer = setInterval(() => void beat(), intervalMs)
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
