import type { IncomingHttpHeaders } from 'node:http'

/**
 * RFC 9110 section 13.2.2: If-None-Match is evaluated first and, when present, If-Modified-Since
 * is ignored. If-None-Match uses the weak comparison (section 8.8.3.2); `*` matches any
 * current representation. Only GET and HEAD reach this (the cached methods).
 */
export function isNotModified(headers: IncomingHttpHeaders, etags: readonly string[], lastModified: string | undefined): boolean {
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) return matchesAny(ifNoneMatch, etags)
  const ifModifiedSince = headers['if-modified-since']
  if (ifModifiedSince === undefined || lastModified === undefined) return false
  const since = Date.parse(ifModifiedSince)
  const modified = Date.parse(lastModified)
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since
}

function matchesAny(header: string, etags: readonly string[]): boolean {
  if (header.trim() === '*') return true
  const wanted = new Set(etags.map(opaque))
  return header.split(',').some((tag) => wanted.has(opaque(tag.trim())))
}

/** The opaque part of an entity tag, for the weak comparison: `W/"x"` and `"x"` compare equal. */
function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** A strong ETag for a stored body: the upstream's if it is strong, else a hash of the bytes. */
export function strongEtag(upstream: string | undefined, digest: () => string): string {
  if (upstream && upstream.startsWith('"') && upstream.endsWith('"')) return upstream
  return `"${digest()}"`
}

/** The validator of the gzip representation must differ from the identity one's (RFC 9110 section 8.8.3). */
export function gzipEtag(etag: string): string {
  return `${etag.slice(0, -1)}-gz"`
}
