import { request as undiciRequest } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'
import type { CompiledRoute } from '../config/types.js'
import type { CacheStore } from '../store/store.js'
import { decideAdmission, varyNames } from '../request/admission.js'
import { encodeCachedResponse } from '../request/cached-response.js'
import { makeCachedResponse, storeLifetimeMs } from '../request/make-cached-response.js'
import { HOP_BY_HOP } from '../request/deliver.js'
import type { FlightOutcome } from './coalescer.js'

/** Request headers undici sets itself or refuses, on top of the hop-by-hop ones (Host is kept: undici sends the one given). */
const SET_BY_CLIENT = new Set(['content-length', 'expect'])

export interface RefreshJob {
  readonly route: CompiledRoute
  readonly url: URL
  /** The client's request headers with the proxy's forwarding headers, as the upstream would get them. */
  readonly headers: IncomingHttpHeaders
  readonly tags: readonly string[]
  /** The key for the Vary names the response turns out to have. */
  readonly keyFor: (responseVary: readonly string[]) => string
  readonly now: number
  readonly timeoutMs: number
  readonly compressAboveBytes: number
}

/**
 * The one background request of stale-while-revalidate: fetch, admit, store under the same
 * stamp guard as a miss. Its outcome wakes coalesced followers like a foreground fetch's.
 */
export async function refreshInBackground(store: CacheStore, job: RefreshJob): Promise<FlightOutcome> {
  const stamps = await store.acquireStamps(job.tags)
  const res = await undiciRequest(job.url, { method: 'GET', headers: upstreamHeaders(job.headers), headersTimeout: job.timeoutMs, bodyTimeout: job.timeoutMs })
  const headers = res.headers as IncomingHttpHeaders
  if (!decideAdmission(job.route, res.statusCode, headers).admit) {
    await res.body.dump()
    return { kind: 'pass' }
  }
  const body = await readLimited(res.body, job.route.maxEntryBytes)
  if (!body) return { kind: 'pass' }
  const response = makeCachedResponse({ route: job.route, status: res.statusCode, headers, body, now: job.now, stamps, compressAboveBytes: job.compressAboveBytes })
  const key = job.keyFor(varyNames(headers))
  const stored = await store.writeIfUnchanged({ key, tags: job.tags, stamps, value: encodeCachedResponse(response), ttlMs: storeLifetimeMs(job.route) })
  return stored ? { kind: 'stored', response } : { kind: 'pass' }
}

function upstreamHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name) && !SET_BY_CLIENT.has(name)) out[name] = value
  return out
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > limit) { body.destroy(); return undefined }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}
