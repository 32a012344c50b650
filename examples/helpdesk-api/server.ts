import pg from 'pg'
import type { FastifyServerOptions } from 'fastify'
import { buildHelpdeskApp } from './app.js'

export interface HelpdeskApiOptions {
  readonly databaseUrl: string
  /** 0 picks a free port; the chosen one is in the returned url. */
  readonly port: number
  readonly host: string
  readonly jwtSecret: string
  readonly logger?: FastifyServerOptions['logger']
}

export interface RunningHelpdeskApi {
  readonly url: string
  readonly pool: pg.Pool
  close(): Promise<void>
}

/** Starts the example helpdesk API over an existing database (see setUpHelpdeskDatabase). */
export async function startHelpdeskApi(options: HelpdeskApiOptions): Promise<RunningHelpdeskApi> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 })
  const app = buildHelpdeskApp({ pool, jwtSecret: options.jwtSecret, logger: options.logger })
  // An idle client's error (Postgres restarted, connection killed) is emitted on the pool;
  // unhandled it would crash the process, and the fault tests of the proxy restart Postgres.
  pool.on('error', (err) => app.log.warn({ err }, 'idle database connection failed'))
  try {
    await app.listen({ port: options.port, host: options.host })
  } catch (err) {
    await pool.end()
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${host}:${port}`,
    pool,
    async close() {
      await app.close()
      await pool.end()
    },
  }
}
