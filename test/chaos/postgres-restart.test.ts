import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createCounterDatabase, startCounterOrigin } from '../helpers/counter-world.js'
import { DATABASE_URL } from '../helpers/env.js'
import { startPrivatePostgres } from '../helpers/private-postgres.js'
import { checkRun, msUntilRead, startLoadedProxy, waitForWritesAfter } from '../helpers/chaos.js'
import { nextEvent, waitFor } from '../helpers/replication.js'

/**
 * Chaos: Postgres is restarted (`pg_ctl restart -m fast`) under a steady mixed load. It is a
 * cluster of this test's own (initdb in a temporary directory), so that every other suite
 * keeps its server; CHAOS_SHARED_POSTGRES=1 restarts the shared one instead, with
 * PG_RESTART_COMMAND (default: pg_ctlcluster ... 15 main restart), and starts it again
 * whatever happens. The restart must succeed while the proxy is connected; the listener
 * reconnects and resumes from the slot; writes before and after the restart (and those
 * whose commit the client never heard about) are applied; requests meanwhile get no 5xx
 * from the proxy (the upstream's own 503s, while its database is down, are counted apart);
 * no stale read beyond the bound.
 */
const BOUND_MS = 2000
const SHARED = process.env.CHAOS_SHARED_POSTGRES === '1'
const RESTART = process.env.PG_RESTART_COMMAND ?? 'pg_ctlcluster --skip-systemctl-redirect 15 main restart'

interface Server { readonly url: string; restart(): Promise<{ ok: boolean; output: string }>; ensureRunning(): Promise<void> }

async function sharedServer(): Promise<Server> {
  const [command, ...args] = RESTART.split(' ')
  const run = promisify(execFile)
  return {
    url: DATABASE_URL,
    restart: () => run(command as string, args).then(({ stdout }) => ({ ok: true, output: stdout }), (err: Error) => ({ ok: false, output: err.message })),
    ensureRunning: async () => { await run(command as string, args.map((a) => (a === 'restart' ? 'start' : a))).catch(() => {}) },
  }
}

t.test('Postgres restarted under load', async (t) => {
  const server: Server = SHARED ? await sharedServer() : await startPrivatePostgres(t)
  const db = await createCounterDatabase(t, 'chaospg', { serverUrl: server.url })
  const origin = await startCounterOrigin(t, db)
  const { listener, applied, ledger, load } = await startLoadedProxy(t, db, origin, BOUND_MS)
  await waitFor(() => applied.size >= 50, { timeoutMs: 30_000, what: 'writes applied before the restart' })
  const leadsAgain = nextEvent(listener, 'state', (s) => s === 'leader', 120_000)
  const restartingAt = Date.now()
  const restart = await server.restart()
  const restartedAt = Date.now()
  if (!restart.ok) await server.ensureRunning() // never leave a server down, whatever the outcome
  t.ok(restart.ok, `Postgres restarted while the proxy was connected (${restartedAt - restartingAt} ms)${restart.ok ? '' : `: ${restart.output.trim().split('\n').slice(-3).join(' | ')}`}`)
  await leadsAgain
  const leaderMs = Date.now() - restartedAt
  const firstHit = await msUntilRead(load.history, restartedAt, (r) => r.xcache === 'HIT')
  await waitForWritesAfter(load.history, restartedAt, 30, 60_000)
  const history = await load.stop()
  const failedAtClient = history.writes.filter((w) => w.error !== undefined)
  const committed = await db.committedWrites()
  t.comment(`writes whose client saw an error: ${failedAtClient.length}, of which committed anyway: ${failedAtClient.filter((w) => committed.has(w.id)).length}`)
  await checkRun(t, {
    db, history, boundMs: BOUND_MS, ledger, applied,
    recovery: { 'restart took': restartedAt - restartingAt, 'leader again after': leaderMs, 'first HIT after': firstHit },
  })
})
