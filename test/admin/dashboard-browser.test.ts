import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { chromium } from 'playwright-core'
import { startAdminHarness, ADMIN_TOKEN } from '../helpers/admin.js'
import { bearer } from '../helpers/tokens.js'

const CHROMIUM = '/usr/bin/chromium'

t.test('the dashboard shows live numbers that move with traffic (real headless Chromium)', { skip: existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)' }, async (t) => {
  const h = await startAdminHarness(t)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()

  await page.goto(`${h.proxy.adminUrl}/`)
  await page.getByLabel('Admin token').fill('wrong-token-wrong-token')
  await page.getByRole('button', { name: 'Open dashboard' }).click()
  await page.getByRole('alert').filter({ hasText: 'wrong token' }).waitFor()

  await page.goto('about:blank')
  await page.goto(`${h.proxy.adminUrl}/#token=${ADMIN_TOKEN}`)
  t.notMatch(page.url(), ADMIN_TOKEN, 'the token is removed from the address bar')
  await page.locator('#state', { hasText: 'live' }).waitFor()
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  for (let i = 0; i < 20; i++) await (await h.fetch('/api/v2/people/search/?q=a', { headers })).arrayBuffer()
  const ticketsRow = page.locator('#routes tr', { hasText: 'people-search' })
  await ticketsRow.waitFor()
  await page.locator('#hit-ratio', { hasText: '95.0%' }).waitFor({ timeout: 10_000 })
  t.match(await ticketsRow.textContent(), /people-search95\.0%1910/)
  t.match(await page.locator('#offload').textContent(), /95\.0%/)
  await mkdir('test-output', { recursive: true })
  await page.screenshot({ path: 'test-output/dashboard.png', fullPage: true })
  t.ok(existsSync('test-output/dashboard.png'), 'screenshot kept under test-output/')
})
