/**
 * Tags name groups of cached entries so that one row change can invalidate them all.
 *
 * A tag is a list of colon-separated segments (`tickets:42:7`). In a template each segment
 * is either literal text or exactly one placeholder (`tickets:{tenant}:{user}`). Values are
 * escaped so that no value can forge a separator or a wildcard.
 *
 * Wildcards make widening O(1): an entry tagged `tickets:42:7` also carries `tickets:42:*`,
 * `tickets:*` and `*`, so an invalidation that does not know the user (`tickets:42:*`) or
 * the tenant (`tickets:*`), or a flush of everything (`*`), is still one stamp deletion.
 */
export type TemplateSegment = { kind: 'literal'; text: string } | { kind: 'placeholder'; name: string }

export interface TagTemplate {
  readonly source: string
  readonly segments: readonly TemplateSegment[]
  readonly placeholders: readonly string[]
}

/** The tag that matches every entry: deleting its stamp flushes the cache. */
export const EVERYTHING_TAG = '*'

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}$/
const LITERAL = /^[^{}*:\s]+$/

export type TemplateParse = { ok: true; template: TagTemplate } | { ok: false; reason: string }

export function parseTagTemplate(source: string): TemplateParse {
  if (source.length === 0) return { ok: false, reason: 'a tag template must not be empty' }
  if (source.startsWith('@')) return { ok: false, reason: 'tags starting with "@" are reserved' }
  const segments: TemplateSegment[] = []
  for (const part of source.split(':')) {
    const placeholder = PLACEHOLDER.exec(part)
    if (placeholder?.[1] !== undefined) segments.push({ kind: 'placeholder', name: placeholder[1] })
    else if (LITERAL.test(part)) segments.push({ kind: 'literal', text: part })
    else return { ok: false, reason: `segment "${part}" must be literal text (no {, }, *, spaces) or exactly one {placeholder}` }
  }
  const placeholders = segments.flatMap((s) => (s.kind === 'placeholder' ? [s.name] : []))
  return { ok: true, template: { source, segments, placeholders } }
}

/** Percent-encodes the characters that carry meaning in a tag, so values cannot forge one. */
export function escapeTagValue(value: string): string {
  return value.replace(/[%:*{}\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'))
}

export type TagValues = (name: string) => string | undefined

/**
 * Renders a template. Where a value is unknown the tag is widened to a wildcard at that
 * segment (`tickets:42:*`), never skipped: widening can only invalidate more.
 */
export function renderTag(template: TagTemplate, values: TagValues): string {
  const parts: string[] = []
  for (const segment of template.segments) {
    if (segment.kind === 'literal') {
      parts.push(segment.text)
      continue
    }
    const value = values(segment.name)
    if (value === undefined) return widenedTag(parts)
    parts.push(escapeTagValue(value))
  }
  return parts.join(':')
}

/** The widest tag a template can produce: what TRUNCATE of a table invalidates. */
export function widestTag(template: TagTemplate): string {
  return renderTag(template, () => undefined)
}

/**
 * What a template renders to while some of its columns are unknown, as a pattern over the
 * known ones: `tickets:{client_id}:{assigned_to_id}` without `assigned_to_id` is
 * `tickets:{client_id}:*`. For messages to the operator; renderTag does the widening itself.
 */
export function widenedPattern(template: TagTemplate, isUnknown: (name: string) => boolean): string {
  const parts: string[] = []
  for (const segment of template.segments) {
    if (segment.kind === 'literal') parts.push(segment.text)
    else if (isUnknown(segment.name)) return widenedTag(parts)
    else parts.push(`{${segment.name}}`)
  }
  return parts.join(':')
}

function widenedTag(knownParts: readonly string[]): string {
  return knownParts.length === 0 ? EVERYTHING_TAG : knownParts.join(':') + ':*'
}

/**
 * All tags an entry must carry so that any widened invalidation reaches it:
 * `a:b:c` -> `a:b:c`, `a:b:*`, `a:*`, `*`. Deduplicated, order stable.
 */
export function expandWithWildcards(tags: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const tag of tags) {
    out.add(tag)
    const parts = tag.split(':')
    for (let i = parts.length - 1; i >= 1; i--) out.add(parts.slice(0, i).join(':') + ':*')
  }
  out.add(EVERYTHING_TAG)
  return [...out]
}

/** A reserved tag every entry of a route carries, for purges by route and tenant. */
export function routeTag(route: string, tenant: string): string {
  return `@route:${escapeTagValue(route)}:${escapeTagValue(tenant)}`
}
