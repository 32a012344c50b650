/**
 * Route paths: literal segments, `:name` segments (one path segment, decoded for tags), and
 * a trailing `*` matching any rest of the path including the empty one. Matching is on the
 * raw request path, case-sensitive, as Django's URL resolver is.
 */
export type PathMatcher = (pathname: string) => Record<string, string> | undefined

export type PatternCompile = { ok: true; match: PathMatcher; paramNames: string[] } | { ok: false; reason: string }

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/

export function compileRoutePattern(pattern: string): PatternCompile {
  if (!pattern.startsWith('/')) return { ok: false, reason: 'a route path must start with "/"' }
  const hasRest = pattern.endsWith('/*')
  const body = hasRest ? pattern.slice(0, -1) : pattern
  const parts = body.split('/')
  const paramNames: string[] = []
  for (const part of parts) {
    if (part.includes('*')) return { ok: false, reason: '"*" is only allowed as the last segment ("/prefix/*")' }
    const param = PARAM.exec(part)
    if (param?.[1] !== undefined) {
      if (paramNames.includes(param[1])) return { ok: false, reason: `path parameter :${param[1]} appears twice` }
      paramNames.push(param[1])
    } else if (part.startsWith(':')) return { ok: false, reason: `"${part}" is not a valid path parameter` }
  }
  if (paramNames.length === 0) return { ok: true, paramNames, match: literalMatcher(body, hasRest) }
  return { ok: true, paramNames, match: segmentMatcher(parts, hasRest) }
}

function literalMatcher(body: string, hasRest: boolean): PathMatcher {
  const empty = Object.freeze({}) as Record<string, string>
  return hasRest
    ? (pathname) => (pathname.startsWith(body) ? empty : undefined)
    : (pathname) => (pathname === body ? empty : undefined)
}

function segmentMatcher(parts: readonly string[], hasRest: boolean): PathMatcher {
  return (pathname) => {
    const actual = pathname.split('/')
    // With a rest, the pattern "/a/*" splits to ["", "a", ""]: the last part is the rest.
    const fixed = hasRest ? parts.length - 1 : parts.length
    if (hasRest ? actual.length < parts.length : actual.length !== parts.length) return undefined
    const params: Record<string, string> = {}
    for (let i = 0; i < fixed; i++) {
      const want = parts[i] as string
      const got = actual[i] as string
      if (want.startsWith(':')) {
        if (got === '') return undefined
        params[want.slice(1)] = got
      } else if (want !== got) return undefined
    }
    return params
  }
}
