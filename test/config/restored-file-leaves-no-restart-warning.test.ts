import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { makeLogger } from '../../src/logger.js'
import { startHarness } from '../helpers/proxy.js'

t.test('a file edited away from the running values and then restored warns once, then leaves nothing pending', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const log = makeLogger('warn', { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const h = await startHarness(t, { log })
  const restartWarnings = () => lines.filter((l) => /only after a restart/.test(String(l.msg)))
  const original = await readFile(h.configFile, 'utf8')

  await writeFile(h.configFile, original.replace(h.keyPrefix, 'edited-prefix:'))
  t.ok((await h.proxy.reload()).ok)
  t.match(restartWarnings(), [{ pendingRestart: ['store.keyPrefix'] }], 'the edit is named')
  t.same(h.proxy.holder.current().pendingRestart, ['store.keyPrefix'])

  await writeFile(h.configFile, original)
  t.ok((await h.proxy.reload()).ok)
  t.equal(restartWarnings().length, 1, 'the restore warns no more')
  t.same(h.proxy.holder.current().pendingRestart, [])
  t.equal(h.proxy.holder.current().config.store.keyPrefix, h.keyPrefix)
})
