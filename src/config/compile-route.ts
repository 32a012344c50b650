import type { CompiledRoute } from './types.js'
import type { ProblemList } from './problems.js'
import { parseDuration, parseSize, type Parsed } from './duration.js'
import { compileRoutePattern } from './route-pattern.js'
import { parseTagTemplate, type TagTemplate } from '../tags/tag-template.js'
import { globToRegExp } from '../store/glob.js'

export interface RawRoute {
  name: string; path: string; ttl: string | number; scope: 'tenant' | 'user'
  tags?: string[]; query?: string[]; ignoreQuery?: string[]; methods?: string[]; statuses?: number[]
  vary?: string[]; honourClientNoCache?: boolean; staleWhileRevalidate?: string | number
  staleIfError?: string | number; maxEntrySize?: string | number
  serveInvalidatedOnError?: boolean; coalesceWait?: string | number
}

type Path = (string | number)[]

export function compileRoute(raw: RawRoute, path: Path, defaults: { maxEntryBytes: number }, problems: ProblemList): CompiledRoute | undefined {
  const before = problems.items.length
  const pattern = compileRoutePattern(raw.path)
  if (!pattern.ok) problems.add([...path, 'path'], pattern.reason)
  const ttlMs = take(parseDuration(raw.ttl), [...path, 'ttl'], problems, 0)
  if (ttlMs === 0 && problems.items.length === before) problems.add([...path, 'ttl'], 'ttl must be greater than zero')
  const tags = compileRouteTags(raw, pattern.ok ? pattern.paramNames : [], path, problems)
  const route: CompiledRoute = {
    name: raw.name,
    path: raw.path,
    match: pattern.ok ? pattern.match : () => undefined,
    paramNames: pattern.ok ? pattern.paramNames : [],
    ttlMs,
    staleWhileRevalidateMs: optionalDuration(raw.staleWhileRevalidate, [...path, 'staleWhileRevalidate'], problems),
    staleIfErrorMs: optionalDuration(raw.staleIfError, [...path, 'staleIfError'], problems),
    serveInvalidatedOnError: raw.serveInvalidatedOnError ?? false,
    coalesceWaitMs: raw.coalesceWait === undefined ? 3000 : optionalDuration(raw.coalesceWait, [...path, 'coalesceWait'], problems),
    scope: raw.scope,
    tags,
    query: raw.query ? [...raw.query].sort() : undefined,
    ignoreQuery: makeIgnore(raw.ignoreQuery ?? []),
    methods: new Set(raw.methods ?? ['GET', 'HEAD']),
    statuses: new Set(raw.statuses ?? [200]),
    vary: (raw.vary ?? []).map((h) => h.toLowerCase()).sort(),
    honourClientNoCache: raw.honourClientNoCache ?? false,
    maxEntryBytes: raw.maxEntrySize === undefined ? defaults.maxEntryBytes : take(parseSize(raw.maxEntrySize), [...path, 'maxEntrySize'], problems, 0),
  }
  return problems.items.length === before ? route : undefined
}

function compileRouteTags(raw: RawRoute, paramNames: readonly string[], path: Path, problems: ProblemList): TagTemplate[] {
  const allowed = new Set(['tenant', ...(raw.scope === 'user' ? ['user'] : []), ...paramNames.map((p) => `params.${p}`)])
  const templates: TagTemplate[] = []
  ;(raw.tags ?? []).forEach((source, i) => {
    const parsed = parseTagTemplate(source)
    if (!parsed.ok) return problems.add([...path, 'tags', i], parsed.reason)
    const unknown = parsed.template.placeholders.filter((p) => !allowed.has(p))
    if (unknown.length > 0) {
      const hint = raw.scope === 'tenant' && unknown.includes('user') ? ' ({user} needs scope: user)' : ''
      return problems.add([...path, 'tags', i], `unknown placeholder {${unknown.join('}, {')}}; allowed: {${[...allowed].join('}, {')}}${hint}`)
    }
    templates.push(parsed.template)
  })
  return templates
}

function makeIgnore(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false
  const patterns = globs.map(globToRegExp)
  return (name) => patterns.some((p) => p.test(name))
}

function optionalDuration(input: unknown, path: Path, problems: ProblemList): number {
  return input === undefined ? 0 : take(parseDuration(input), path, problems, 0)
}

export function take<T>(parsed: Parsed<T>, path: Path, problems: ProblemList, fallback: T): T {
  if (parsed.ok) return parsed.value
  problems.add(path, parsed.reason)
  return fallback
}
