import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { configText } from '../helpers/proxy.js'
import { startOrigin } from '../helpers/origin.js'
import { ownKeyPrefix, spawnProxyProcess } from '../helpers/counter-proxy.js'
import { writeConfigFile } from '../helpers/counter-world.js'
import { waitFor } from '../helpers/replication.js'
import { bearer } from '../helpers/tokens.js'

/**
 * An operator's edit that breaks the file must not take the running proxy down: the
 * edit is seen by the file watcher (and by SIGHUP), the reload is refused with a reason
 * in the log, and the process keeps serving with the config it had. Tried with a plain
 * schema error and with YAML aliases that fail only when the document is converted.
 */
const ADMIN = 'admin:\n  host: 127.0.0.1\n  port: ${ADMIN_PORT}\n  token: ${ADMIN_TOKEN}\n'

t.test('a broken edit is refused by the running process, which keeps serving', async (t) => {
  const origin = await startOrigin()
  t.teardown(() => origin.close())
  const text = configText({ keyPrefix: ownKeyPrefix(t, 'reload'), extra: ADMIN }).replace('listen:\n  host: 127.0.0.1\n  port: 0', 'listen:\n  host: 127.0.0.1\n  port: ${PORT}')
  const configFile = await writeConfigFile(text)
  const proxy = await spawnProxyProcess(t, { configFile, upstreamUrl: origin.url, databaseUrl: '' })
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/'
  await fetch(proxy.url + path, { headers })
  t.equal((await fetch(proxy.url + path, { headers })).headers.get('x-cache'), 'HIT')
  const good = await readFile(configFile, 'utf8')
  let exited = false
  void proxy.exited.then(() => { exited = true })

  const broken: Record<string, string> = {
    'a schema error': good.replace('ttl: 5m', 'ttl: 5 minutes'),
    'an alias to an anchor that does not exist': good.replace('upstream: ${UPSTREAM_URL}', 'upstream: *upstream'),
    'an alias bomb': `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n${good}`,
  }
  for (const [name, text] of Object.entries(broken)) {
    if (exited) break
    const rejectionsBefore = proxy.lines.filter((l) => l.includes('config reload rejected')).length
    await writeFile(configFile, text)
    proxy.child.kill('SIGHUP')
    await waitFor(() => exited || proxy.lines.filter((l) => l.includes('config reload rejected')).length > rejectionsBefore, { timeoutMs: 10_000, what: `the reload of ${name} to be refused or the process to die` })
      .catch(() => {})
    t.notOk(exited, `${name}: the process is still running${exited ? `; its last words: ${proxy.lines.slice(-3).join(' | ').slice(0, 600)}` : ''}`)
    if (exited) break
    const res = await fetch(proxy.url + path, { headers })
    t.equal(res.headers.get('x-cache'), 'HIT', `${name}: it keeps serving from the config it had`)
  }
})
