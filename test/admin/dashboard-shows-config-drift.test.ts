import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { ADMIN_TOKEN } from '../helpers/admin.js'
import { waitFor } from '../helpers/replication.js'
import { createTestDatabase, startLoggedProxy } from '../helpers/logged-proxy.js'

const CHROMIUM = '/usr/bin/chromium'

/**
 * On-call opens the dashboard, not /status: a config that no longer fits the schema (a rule
 * naming a column the table lacks, a watched table that is missing) is listed under the
 * replication state, in words, until invalidation.tables is fixed.
 */
t.test('the dashboard lists the tables whose rules no longer fit the schema (real headless Chromium)', { skip: existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)' }, async (t) => {
  const db = await createTestDatabase(t, 'dashdrift')
  await db.sql.query(`
    CREATE TABLE peoples (id int PRIMARY KEY, client_id int NOT NULL, department_id int);
    ALTER TABLE peoples REPLICA IDENTITY FULL;`)
  const routes = 'routes:\n  - { name: people, path: /people/, ttl: 10m, scope: tenant, tags: ["people:{tenant}"] }\n'
  const tables = '    peoples: ["people:{client_id}", "people:{client_id}:{departement_id}"]\n    attendance_log: ["att:{client_id}"]\n'
  const { proxy } = await startLoggedProxy(t, { db, routes, tables, admin: true })
  const listener = proxy.listener
  if (!listener) throw new Error('no listener')
  await waitFor(() => listener.status().state === 'leader', { timeoutMs: 10_000, what: 'the listener to lead' })

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${proxy.adminUrl}/#token=${ADMIN_TOKEN}`)
  const drift = page.getByRole('list', { name: 'config drift' })
  await drift.getByRole('listitem').filter({ hasText: 'public.peoples: no column departement_id (rules widened)' }).waitFor({ timeout: 10_000 })
  await drift.getByRole('listitem').filter({ hasText: 'public.attendance_log: missing' }).waitFor({ timeout: 10_000 })
  t.equal(await drift.getByRole('listitem').count(), 2, 'one line per finding')
})
