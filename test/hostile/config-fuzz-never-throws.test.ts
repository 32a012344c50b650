import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfigText, type ConfigResult } from '../../src/config/load-config.js'
import { describeProblems } from '../../src/config/describe-problems.js'
import { startHarness } from '../helpers/proxy.js'
import { bearer } from '../helpers/tokens.js'

/**
 * Config fuzz: random truncations and mutations of the contract YAML (config/helpdesk.yaml,
 * the README's example) never make loadConfigText throw. Each result is either a config, or
 * problems that each carry a path (the root's is empty; YAML syntax errors add a line) and a reason, and print as
 * `file:line: path: reason`. A fuzzed file given to a running proxy's reload is refused and
 * the running config stays.
 */
const contract = readFileSync(join(process.cwd(), 'config', 'helpdesk.yaml'), 'utf8')
const env = {
  UPSTREAM_URL: 'http://127.0.0.1:8000', PORT: '8080', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'a-secret-of-some-length',
  DATABASE_URL: 'postgres://u@127.0.0.1/db', ADMIN_TOKEN: 'admin-token-0123456789',
}

/** A problem a human can act on: where, and what. */
function checkResult(result: ConfigResult): string | undefined {
  if (result.ok) return undefined
  if (result.problems.length === 0) return 'not ok, but no problem given'
  for (const problem of result.problems) {
    if (!Array.isArray(problem.path) || !problem.path.every((p) => typeof p === 'string' || typeof p === 'number')) return `bad path ${JSON.stringify(problem.path)}`
    if (typeof problem.message !== 'string' || problem.message.trim() === '') return `no reason for ${JSON.stringify(problem.path)}`
  }
  const lines = describeProblems(result)
  if (!lines.every((line) => line.startsWith('fuzz.yaml'))) return `a line does not name the file: ${lines.join(' | ')}`
  return undefined
}

const lines = contract.split('\n')
const YAML_CHARS = [':', '-', ' ', '  ', '\n', '{', '}', '[', ']', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '\t', '${', '${X', '}}', ',', '?', '\u0000', 'é', '\u2028']
const SCALARS = ['0', '-1', '1e309', 'true', 'null', '~', '[]', '{}', '""', "'x'", '[1, 2]', '{a: 1}', '5 min', '${NOPE}', '${PORT}', '"{no_such_column}"', '!!binary aGk=', '&a x', '*a', '99999999999999999999']

type Mutation = (text: string[]) => string[]
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }).map(({ at, count }) => (ls: string[]) => { const s = ls.join('\n'); const i = at % (s.length + 1); return (s.slice(0, i) + s.slice(i + count)).split('\n') }),
  fc.record({ at: fc.nat(), insert: fc.constantFrom(...YAML_CHARS) }).map(({ at, insert }) => (ls: string[]) => { const s = ls.join('\n'); const i = at % (s.length + 1); return (s.slice(0, i) + insert + s.slice(i)).split('\n') }),
  fc.nat().map((at) => (ls: string[]) => { const i = at % Math.max(1, ls.length); return [...ls.slice(0, i + 1), ls[i] ?? '', ...ls.slice(i + 1)] }),
  fc.nat().map((at) => (ls: string[]) => ls.filter((_, i) => i !== at % Math.max(1, ls.length))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (ls: string[]) => { const out = [...ls]; const i = a % out.length; const j = b % out.length; [out[i], out[j]] = [out[j] ?? '', out[i] ?? '']; return out }),
  fc.tuple(fc.nat(), fc.integer({ min: -3, max: 3 })).map(([at, shift]) => (ls: string[]) => ls.map((l, i) => (i === at % ls.length ? (shift >= 0 ? ' '.repeat(shift) + l : l.slice(-shift)) : l))),
  fc.tuple(fc.nat(), fc.constantFrom(...SCALARS)).map(([at, value]) => (ls: string[]) => {
    const withValue = ls.map((l, i) => [l, i] as const).filter(([l]) => /:\s*\S/.test(l) && !l.trimStart().startsWith('#'))
    const picked = withValue[at % Math.max(1, withValue.length)]
    if (!picked) return ls
    return ls.map((l, i) => (i === picked[1] ? l.replace(/:\s*\S.*$/, `: ${value}`) : l))
  }),
)

t.test('truncations never throw and always explain themselves', async (t) => {
  t.ok(loadConfigText(contract, 'fuzz.yaml', env).ok, 'the contract itself loads (the baseline)')
  let refused = 0
  for (let end = 0; end <= contract.length; end++) {
    const result = loadConfigText(contract.slice(0, end), 'fuzz.yaml', env)
    const wrong = checkResult(result)
    if (wrong) t.fail(`truncated at ${end}: ${wrong}`)
    if (!result.ok) refused++
  }
  t.pass(`${contract.length + 1} truncations: ${refused} refused with a located reason, the others valid`)
})

t.test('random mutations never throw and always explain themselves', async (t) => {
  let refused = 0
  let accepted = 0
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (mutations) => {
    const text = mutations.reduce((ls, m) => m(ls), lines).join('\n')
    let result: ConfigResult
    try {
      result = loadConfigText(text, 'fuzz.yaml', env)
    } catch (err) {
      throw new Error(`loadConfigText threw on:\n${text}\n${(err as Error).stack}`, { cause: err })
    }
    const wrong = checkResult(result)
    if (wrong) throw new Error(`${wrong}\n--- config:\n${text}`)
    if (result.ok) accepted++
    else refused++
  }), { numRuns: 3000 })
  t.comment(`3000 mutated configs: ${refused} refused with located reasons, ${accepted} still valid`)
  t.ok(refused > 1000, 'the mutations do break configs (the property is exercised)')
})

/** YAML that parses without errors but fails when turned into data (the library throws then). */
const THROWING_YAML: Record<string, string> = {
  'an alias to an anchor that does not exist': contract.replace('upstream: ${UPSTREAM_URL}', 'upstream: *upstream'),
  'an alias before its anchor': contract.replace('upstream: ${UPSTREAM_URL}', 'upstream: *u\nx: &u 1'),
  'an alias bomb (billion laughs)': `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n${contract}`,
}

t.test('YAML that only fails when converted is refused with a reason, not thrown', async (t) => {
  for (const [name, text] of Object.entries(THROWING_YAML)) {
    let result: ConfigResult | undefined
    t.doesNotThrow(() => { result = loadConfigText(text, 'fuzz.yaml', env) }, `${name}: loadConfigText does not throw`)
    if (result) {
      t.notOk(result.ok, `${name}: refused`)
      t.equal(checkResult(result), undefined, `${name}: with a located reason`)
    }
  }
})

function refusedSafely(text: string): boolean {
  try { return !loadConfigText(text, 'x', env).ok } catch { return false }
}

t.test('a fuzzed file on reload is refused and the running config stays', async (t) => {
  const h = await startHarness(t)
  const headers = bearer({ tenant: 't1', sub: 'u1' })
  const path = '/api/v2/helpdesk/tickets/'
  await h.fetch(path, { headers })
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT')
  const running = h.proxy.holder.current()
  const broken = fc.sample(fc.array(mutation, { minLength: 2, maxLength: 5 }), { numRuns: 200, seed: 42 })
    .map((ms) => ms.reduce((ls, m) => m(ls), lines).join('\n'))
    .filter(refusedSafely)
    .slice(0, 15)
  t.ok(broken.length >= 10, `${broken.length} broken variants`)
  for (const text of broken) {
    await writeFile(h.configFile, text)
    const result = await h.proxy.reload()
    t.notOk(result.ok, 'refused')
    t.equal(h.proxy.holder.current(), running, 'the running config stays')
  }
  for (const [name, text] of Object.entries(THROWING_YAML)) {
    await writeFile(h.configFile, text)
    const result = await h.proxy.reload().catch((err: unknown) => err as Error)
    t.ok(!(result instanceof Error) && !result.ok, `${name}: reload refuses it (${result instanceof Error ? `threw ${result.message}` : 'refused'})`)
    t.equal(h.proxy.holder.current(), running, `${name}: the running config stays`)
  }
  t.equal((await h.fetch(path, { headers })).headers.get('x-cache'), 'HIT', 'and keeps serving')
})
