import type { Test } from 'tap'
import { eventually, type Harness } from './proxy.js'

/**
 * An entry filled by a valid token, that a token the upstream would refuse must neither read
 * nor write. The origin's body carries its request serial, so an answer from the upstream and
 * the stored entry never look alike.
 */
export interface VictimEntry {
  readonly path: string
  readonly headers: Record<string, string>
  /** The body the entry serves. */
  readonly body: string
}

/** Requests `path` with a valid token until it is a HIT (a MISS's store settles after its response). */
export async function fillVictimEntry(h: Harness, path: string, headers: Record<string, string>): Promise<VictimEntry> {
  let body = ''
  await eventually(async () => {
    const res = await h.fetch(path, { headers })
    body = await res.text()
    return res.headers.get('x-cache') === 'HIT'
  }, 5000, `the entry of ${path}`)
  return { path, headers, body }
}

/**
 * A request with `authorization` on the victim's path is passed to the upstream as it is
 * (BYPASS with `reason`), gets the upstream's answer rather than the entry, and leaves the
 * entry as it was: the valid token still hits the same body.
 */
export async function expectBypassLeavesEntry(t: Test, h: Harness, victim: VictimEntry, authorization: string, what: string, reason = 'INVALID-TOKEN'): Promise<void> {
  const asked = h.origin.count('GET', victim.path)
  const res = await h.fetch(victim.path, { headers: { authorization } })
  const body = await res.text()
  t.equal(res.headers.get('x-cache'), 'BYPASS', `${what}: X-Cache`)
  t.match(res.headers.get('cache-status'), new RegExp(`detail=${reason}$`), `${what}: Cache-Status`)
  t.equal(h.origin.count('GET', victim.path), asked + 1, `${what}: the upstream was asked`)
  t.not(body, victim.body, `${what}: not the entry's body`)
  const again = await h.fetch(victim.path, { headers: victim.headers })
  t.equal(again.headers.get('x-cache'), 'HIT', `${what}: the valid token still hits`)
  t.equal(await again.text(), victim.body, `${what}: the entry was not rewritten`)
}
