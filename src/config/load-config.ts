import { readFile } from 'node:fs/promises'
import { Ajv, type ErrorObject } from 'ajv'
import { LineCounter, parseDocument, isNode } from 'yaml'
import type { CompiledConfig } from './types.js'
import { configSchema } from './schema.js'
import { ProblemList, type ConfigProblem } from './problems.js'
import { substituteEnv, type EnvProblem } from './substitute-env.js'
import { compileConfig, type RawConfig } from './compile-config.js'
import { parseDuration, parseSize } from './duration.js'

export type ConfigResult =
  | { readonly ok: true; readonly config: CompiledConfig }
  | { readonly ok: false; readonly source: string; readonly problems: readonly ConfigProblem[] }

const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: true, allowUnionTypes: true })
ajv.addFormat('duration', { type: 'string', validate: (text: string) => parseDuration(text).ok })
ajv.addFormat('size', { type: 'string', validate: (text: string) => parseSize(text).ok })
const validate = ajv.compile(configSchema)

/** read -> parse -> substitute ${VAR} -> validate -> compile -> freeze (conventions.md, rule 6). */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigResult> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return { ok: false, source: file, problems: [{ path: [], message: `cannot read the file: ${(err as Error).message}` }] }
  }
  return loadConfigText(text, file, env)
}

export function loadConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const lineOf = (path: readonly (string | number)[]) => findLine(doc, lines, path)
  if (doc.errors.length > 0) {
    return { ok: false, source, problems: doc.errors.map((e) => ({ path: [], message: `YAML: ${e.message.split('\n')[0]}`, line: lines.linePos(e.pos[0]).line })) }
  }
  let parsed: unknown
  try {
    // Aliases resolve only here: an unknown anchor or an alias bomb must be a problem, not a throw.
    parsed = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    return { ok: false, source, problems: [{ path: [], message: `YAML: ${(err as Error).message}` }] }
  }
  const envProblems: EnvProblem[] = []
  const data = substituteEnv(parsed, env, envProblems)
  if (envProblems.length > 0) return fail(source, envProblems, lineOf)
  if (!validate(data)) return fail(source, (validate.errors ?? []).map(fromAjv), lineOf)
  const problems = new ProblemList()
  const config = compileConfig(data as unknown as RawConfig, source, problems)
  if (!config) return fail(source, problems.items, lineOf)
  return { ok: true, config: deepFreeze(config) }
}

function fail(source: string, problems: readonly ConfigProblem[], lineOf: (path: readonly (string | number)[]) => number | undefined): ConfigResult {
  return { ok: false, source, problems: problems.map((p) => ({ ...p, line: p.line ?? lineOf(p.path) })) }
}

function fromAjv(error: ErrorObject): ConfigProblem {
  const path = error.instancePath.split('/').slice(1).map(unescapePointer)
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty)
    return { path: [...path, extra], message: `unknown key "${extra}"` }
  }
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty)
    return { path: [...path, missing], message: 'is required' }
  }
  if (error.keyword === 'format') {
    const format = String((error.params as { format: string }).format)
    return { path, message: format === 'duration' ? 'is not a duration (use seconds, or 30s, 5m, 1h)' : 'is not a size (use bytes, or 512kb, 1mb)' }
  }
  if (error.keyword === 'enum') {
    return { path, message: `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}` }
  }
  return { path, message: error.message ?? error.keyword }
}

function unescapePointer(part: string): string | number {
  const text = part.replace(/~1/g, '/').replace(/~0/g, '~')
  return /^\d+$/.test(text) ? Number(text) : text
}

function findLine(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true)
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line
  }
  return undefined
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof URL)) {
    Object.freeze(value)
    for (const item of Object.values(value as object)) deepFreeze(item)
  }
  return value
}
