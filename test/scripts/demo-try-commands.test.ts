import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { setUpHelpdeskDatabase } from '../../examples/helpdesk-api/setup-database.js'
import { formatTryCommands, type TryCommandsInput } from '../../scripts/demo/try-commands.js'

/**
 * The demo's third command changes a ticket outside the proxy. It is printed for a shell, so
 * its quoting is tested by running it through bash, in both forms: psql where it is
 * installed, a node one-liner where only Node is.
 */
const ADMIN_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const admin = new pg.Client({ connectionString: ADMIN_URL })
const databaseName = `ccp_t_${randomBytes(6).toString('hex')}`
const databaseUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${databaseName}` }).toString()

t.before(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${databaseName}`)
  await setUpHelpdeskDatabase(databaseUrl, { tenants: 1, peoplePerTenant: 6, ticketsPerTenant: 10, attendanceDays: 1 })
})

t.teardown(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
  await admin.end()
})

function commandsFor(ticketId: number, psqlAvailable: boolean): string {
  const input: TryCommandsInput = {
    proxyUrl: 'http://127.0.0.1:8080', adminUrl: 'http://127.0.0.1:9091', adminToken: 'x'.repeat(32), token: 'a.b.c',
    tenant: 1, user: { id: 1, username: 'someone1' }, ticket: { id: ticketId, title: 'A title' },
    databaseUrl, psqlAvailable, storeDescription: 'memory',
  }
  return formatTryCommands(input)
}

async function readTicket(id: number): Promise<{ title: string; version: number }> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query<{ title: string; version: number }>('SELECT title, version FROM y_helpdesk_ticket WHERE id = $1', [id])
    return result.rows[0] ?? { title: '', version: 0 }
  } finally {
    await client.end()
  }
}

for (const psqlAvailable of [true, false]) {
  const form = psqlAvailable ? 'psql' : 'node'
  const hasPsql = spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0
  t.test(`the printed ${form} UPDATE runs as printed and changes the ticket`, { skip: psqlAvailable && !hasPsql ? 'no psql here' : false }, async (t) => {
    const id = psqlAvailable ? 1 : 2
    const text = commandsFor(id, psqlAvailable)
    const update = text.split('\n').map((line) => line.trim()).find((line) => line.startsWith(psqlAvailable ? 'psql ' : 'node '))
    t.ok(update, 'an UPDATE command is printed')
    const before = await readTicket(id)
    const run = spawnSync('bash', ['-c', update ?? 'false'], { env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8', cwd: process.cwd() })
    t.equal(run.status, 0, run.stderr)
    t.same(await readTicket(id), { title: 'Edited outside the proxy', version: before.version + 1 })
  })
}

t.test('the curl commands ask the proxy for one ticket with the token', async (t) => {
  const curls = commandsFor(1, true).split('\n').filter((line) => line.trim().startsWith('curl '))
  t.equal(curls.length, 3, 'MISS, HIT, and MISS after the update')
  for (const line of curls) t.match(line, /"\$PROXY\/api\/v2\/helpdesk\/tickets\/\?limit=1" -H "Authorization: Bearer \$TOKEN"/)
})
