#!/usr/bin/env node
import { setUpHelpdeskDatabase } from './setup-database.js'
import { startHelpdeskApi } from './server.js'

/**
 * Runs the example helpdesk API. Environment: DATABASE_URL and JWT_SECRET (required), PORT
 * (8000), HOST (127.0.0.1), LOG_LEVEL (info). `--setup` first creates the schema and loads the
 * seed if the database is empty, which is what docker-compose and the demo need.
 */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const databaseUrl = requireEnv(env, 'DATABASE_URL')
  const jwtSecret = requireEnv(env, 'JWT_SECRET')
  if (argv.includes('--setup')) {
    const outcome = await setUpHelpdeskDatabase(databaseUrl)
    console.error(outcome.seeded ? `seeded: ${JSON.stringify(outcome.counts)}` : 'database already seeded')
  }
  const api = await startHelpdeskApi({
    databaseUrl, jwtSecret,
    port: Number(env['PORT'] ?? 8000),
    host: env['HOST'] ?? '127.0.0.1',
    logger: { level: env['LOG_LEVEL'] ?? 'info' },
  })
  console.error(`helpdesk API listening on ${api.url}`)
  const stop = (): void => {
    api.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]
  if (value === undefined || value === '') throw new Error(`${name} must be set`)
  return value
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
