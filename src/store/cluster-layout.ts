import calculateSlot from 'cluster-key-slot'
import { EVERYTHING_TAG } from '../tags/tag-template.js'
import { escapeGlob } from './glob.js'

/**
 * Where each key lives in a Redis Cluster. Every key an entry needs (the entry, the stamps of
 * its tags, its coalescing lock) carries its tenant's hash tag `{t:<tenant>}`, so each read
 * is one MGET and each script touches one slot: nothing can fail with CROSSSLOT.
 *
 * - A cache key starts with the escaped tenant (`42:tickets:<digest>`, request/key.ts).
 * - A tag's tenant is its second segment (`tickets:42:7` -> 42; `@route:tickets:42` -> 42);
 *   config/compile-config.ts makes every route tag `name:{tenant}...` in cluster mode.
 * - A tag without a tenant (`tickets:*`, `@route:tickets:*`, `*`) is kept once per tenant,
 *   beside that tenant's entries; invalidating it scans every master (rare: TRUNCATE, a purge
 *   of a whole route, a flush).
 * - Per master, a small "node" key (placed on that master by a hash tag that maps to one of
 *   its slots) holds the freshness watermark of the slots it serves and the list of slots
 *   whose invalidations could not be applied (see redis-cluster-store.ts).
 */
export function makeClusterLayout(keyPrefix: string) {
  const hashTag = (tenant: string) => `{t:${tenant}}`
  return {
    entryKey: (key: string) => `${keyPrefix}${hashTag(keyTenant(key))}e:${key}`,
    lockKey: (key: string) => `${keyPrefix}${hashTag(keyTenant(key))}l:${key}`,
    /** The stamp of `tag` for entries of `tenant`: the tag's own tenant when it has one. */
    stampKey: (tag: string, tenant: string) => `${keyPrefix}${hashTag(tagTenant(tag) ?? tenant)}s:${tag}`,
    tenantSlot: (tenant: string) => calculateSlot(hashTag(tenant)),
    /** SCAN pattern for the per-tenant copies of a tenant-less tag (or of a glob over tags). */
    stampPattern: (tagGlob: string) => `${escapeGlob(keyPrefix)}{t:*}s:${tagGlob}`,
    everythingPattern: () => `${escapeGlob(keyPrefix)}{t:*}s:${escapeGlob(EVERYTHING_TAG)}`,
    watermarkKey: (slot: number) => `${keyPrefix}{${hashTagForSlot(slot)}}watermark`,
    condemnedKey: (slot: number) => `${keyPrefix}{${hashTagForSlot(slot)}}condemned`,
  }
}

export type ClusterLayout = ReturnType<typeof makeClusterLayout>

export const keySlot: (key: string) => number = calculateSlot

/** The tenant a cache key belongs to: the text before its first colon (escaped, so it has none). */
export function keyTenant(key: string): string {
  const colon = key.indexOf(':')
  return colon === -1 ? key : key.slice(0, colon)
}

/** The tenant a tag names, or undefined for a tag that spans tenants. */
export function tagTenant(tag: string): string | undefined {
  const parts = tag.split(':')
  const tenant = parts[0] === '@route' ? parts[2] : parts[1]
  return tenant === undefined || tenant === '*' ? undefined : tenant
}

/** The tenant of a set of tags (an entry's): the first one that names one. */
export function tenantOfTags(tags: readonly string[]): string {
  for (const tag of tags) {
    const tenant = tagTenant(tag)
    if (tenant !== undefined) return tenant
  }
  throw new Error('no tag names a tenant (every entry carries @route:<route>:<tenant>)')
}

let slotTags: string[] | undefined

/** A short string whose hash slot is `slot`: puts a key on the master that serves that slot. */
export function hashTagForSlot(slot: number): string {
  if (!slotTags) {
    const table: string[] = new Array(16384)
    let filled = 0
    for (let i = 0; filled < 16384; i++) {
      const candidate = `n${i.toString(36)}`
      const s = calculateSlot(candidate)
      if (table[s] === undefined) { table[s] = candidate; filled++ }
    }
    slotTags = table
  }
  return slotTags[slot] as string
}
