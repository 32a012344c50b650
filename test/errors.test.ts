import t from 'tap'
import { readFile } from 'node:fs/promises'
import { ERROR_CODES } from '../src/errors.js'

t.test('every error code is documented in docs/errors.md', async (t) => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8')
  for (const code of Object.keys(ERROR_CODES)) t.match(doc, `\`${code}\``, code)
})

t.test('every Cache-Status reason is documented in the README', async (t) => {
  const { REASONS } = await import('../src/request/reasons.js')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  for (const reason of Object.keys(REASONS)) t.match(readme, `\`${reason}\``, reason)
})
