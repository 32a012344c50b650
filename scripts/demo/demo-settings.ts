import { randomBytes } from 'node:crypto'
import { findFreePort } from './free-port.js'

/** What the demo takes from the environment, with a generated value for every secret. */
export interface DemoSettings {
  /** Unset: an embedded Postgres is started. */
  readonly databaseUrl: string | undefined
  /** Unset: the proxy uses its in-process memory store. */
  readonly redisUrl: string | undefined
  readonly proxyPort: number
  readonly adminPort: number
  readonly jwtSecret: string
  readonly adminToken: string
}

export async function readDemoSettings(env: NodeJS.ProcessEnv): Promise<DemoSettings> {
  return {
    databaseUrl: nonEmpty(env['DATABASE_URL']),
    redisUrl: nonEmpty(env['REDIS_URL']),
    proxyPort: await choosePort(env['PORT'], 8080),
    adminPort: await choosePort(env['ADMIN_PORT'], 9091),
    // Fresh secrets per run: the printed token is only good for this demo's processes.
    jwtSecret: nonEmpty(env['JWT_SECRET']) ?? `demo-${randomBytes(24).toString('hex')}`,
    adminToken: nonEmpty(env['ADMIN_TOKEN']) ?? randomBytes(16).toString('hex'),
  }
}

async function choosePort(fromEnv: string | undefined, preferred: number): Promise<number> {
  if (fromEnv === undefined || fromEnv === '') return findFreePort(preferred)
  const port = Number(fromEnv)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${fromEnv}" is not a port number`)
  return port
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
