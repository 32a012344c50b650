import type { CompiledRoute } from '../config/types.js'

/**
 * The query as it forms the key: parameters decoded (form rules: `+` is a space, as Django's
 * QueryDict reads them), ignored ones dropped, sorted by name with the order of repeated
 * values kept (it can matter to the upstream). `a` and `a=` are the same, as in QueryDict.
 * A value that is not valid percent-encoding is kept raw but marked, so it cannot collide with
 * any decodable value. The upstream always receives the query exactly as sent.
 */
export type QueryPair = readonly [name: string, value: string]

export function canonicalQuery(search: string, route: Pick<CompiledRoute, 'query' | 'ignoreQuery'>): QueryPair[] {
  if (search === '') return []
  const pairs: QueryPair[] = []
  for (const part of search.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = decodeFormComponent(eq === -1 ? part : part.slice(0, eq))
    if (route.ignoreQuery(name)) continue
    if (route.query && !route.query.includes(name)) continue
    pairs.push([name, decodeFormComponent(eq === -1 ? '' : part.slice(eq + 1))])
  }
  // Array.prototype.sort is stable: repeated names keep their relative order.
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return `\u0000raw:${text}`
  }
}
