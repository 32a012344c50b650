import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configText, eventually } from './helpers/proxy.js'
import { createTestDatabase } from './helpers/replication.js'
import { makeRedisStore } from '../src/store/redis-store.js'
import { makeLogger } from '../src/logger.js'
import { REDIS_URL, uniquePrefix } from './helpers/env.js'
import { JWT_SECRET } from './helpers/tokens.js'

const CLI = join(process.cwd(), 'dist', 'cli.js')

t.test('setup creates the publication then the slot, idempotently, and explains replica identity gaps', async (t) => {
  const db = await createTestDatabase(t, 'clisetup')
  await db.sql.query(`CREATE TABLE y_helpdesk_ticket (id int PRIMARY KEY, client_id int, reporter_id int, assigned_to_id int);
    CREATE TABLE peoples (id int PRIMARY KEY, client_id int); ALTER TABLE peoples REPLICA IDENTITY FULL;`)
  const keyPrefix = uniquePrefix('clisetup')
  const file = join(await mkdtemp(join(tmpdir(), 'ccp-setup-')), 'config.yaml')
  await writeFile(file, configText({ keyPrefix }) + `invalidation:
  database: \${DATABASE_URL}
  slot: ${db.slot}
  publication: ${db.publication}
  tables:
    y_helpdesk_ticket: ["tickets:{client_id}:{reporter_id}", "tickets:{client_id}:{assigned_to_id}"]
    peoples: ["people:{client_id}"]
`)
  const env = { ...process.env, UPSTREAM_URL: 'http://127.0.0.1:1', REDIS_URL, JWT_SECRET, DATABASE_URL: db.url }
  const first = spawnSync(process.execPath, [CLI, 'setup', '--config', file], { env, encoding: 'utf8' })
  t.equal(first.status, 0, first.stderr)
  t.match(first.stdout, `publication ${db.publication}: created`)
  t.match(first.stdout, `slot ${db.slot}: created`)
  t.match(first.stdout, /table public\.peoples: replica identity FULL/)
  t.match(first.stdout, /table public\.y_helpdesk_ticket: replica identity DEFAULT \(id\)/)
  t.match(first.stdout, /warning: .*y_helpdesk_ticket.*REPLICA IDENTITY FULL/)
  const second = spawnSync(process.execPath, [CLI, 'setup', '--config', file], { env, encoding: 'utf8' })
  t.equal(second.status, 0)
  t.match(second.stdout, `publication ${db.publication}: exists`)
  t.match(second.stdout, /slot .*: existing/)

  // A migration drops a column a rule names: setup says what that rule invalidates meanwhile,
  // and succeeds (its exit code gates the proxy's start in docker-compose and the Job).
  await db.sql.query('ALTER TABLE peoples DROP COLUMN client_id')
  const drifted = spawnSync(process.execPath, [CLI, 'setup', '--config', file], { env, encoding: 'utf8' })
  t.equal(drifted.status, 0, drifted.stderr)
  t.match(drifted.stdout, /warning: public\.peoples has no column client_id, named by its invalidation rules.*"people:\{client_id\}" invalidates people:\*/)

  // A migration renames a watched table: setup warns, keeps the renamed table published, and
  // still succeeds, so the proxy starts and the other tables keep their invalidation.
  await db.sql.query('ALTER TABLE peoples RENAME TO persons')
  const renamed = spawnSync(process.execPath, [CLI, 'setup', '--config', file], { env, encoding: 'utf8' })
  t.equal(renamed.status, 0, renamed.stderr)
  t.match(renamed.stdout, `publication ${db.publication}: exists, kept public.persons (no rule names them, but a configured table is missing)`)
  t.match(renamed.stdout, /warning: table public\.peoples does not exist .*The publication keeps public\.persons/)
})

t.test('purge deletes the stamps of the given tags or pattern in the configured Redis', async (t) => {
  const keyPrefix = uniquePrefix('clipurge')
  const store = makeRedisStore({ url: REDIS_URL, keyPrefix, timeoutMs: 1000, stampTtlMs: 60_000, log: makeLogger('silent') })
  t.teardown(() => store.close())
  await eventually(async () => { try { await store.ping(); return true } catch { return false } }, 5000, 'redis')
  const file = join(await mkdtemp(join(tmpdir(), 'ccp-purge-')), 'config.yaml')
  await writeFile(file, configText({ keyPrefix }))
  const env = { ...process.env, UPSTREAM_URL: 'http://127.0.0.1:1', REDIS_URL, JWT_SECRET }
  const before = await store.acquireStamps(['tickets:1:1', 'people:1', 'people:2'])
  const byTag = spawnSync(process.execPath, [CLI, 'purge', '--config', file, '--tag', 'tickets:1:1'], { env, encoding: 'utf8' })
  t.match(byTag.stdout, 'purged: 1 tag stamp deleted')
  const byPattern = spawnSync(process.execPath, [CLI, 'purge', '--config', file, '--pattern', 'people:*'], { env, encoding: 'utf8' })
  t.match(byPattern.stdout, 'purged: 2 tag stamps deleted')
  const after = await store.read('none', ['tickets:1:1', 'people:1', 'people:2'])
  t.same(after.stamps, [null, null, null])
  t.equal(before.length, 3)
})
