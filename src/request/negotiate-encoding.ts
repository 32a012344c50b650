/**
 * Does the client accept this content coding? RFC 9110 section 12.5.3: a coding listed with
 * q=0 is refused; `*` covers codings not listed; no header means any coding is acceptable,
 * but we only compress for clients that asked, as browsers and HTTP libraries do.
 */
export function acceptsEncoding(acceptEncoding: string | undefined, coding: string): boolean {
  if (!acceptEncoding) return false
  let wildcard: boolean | undefined
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const accepted = q === undefined || Number(q.slice(2)) > 0
    if (name === coding) return accepted
    if (name === '*') wildcard = accepted
  }
  return wildcard ?? false
}
