import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { IncomingHttpHeaders } from 'node:http'
import type { CompiledRoute } from '../config/types.js'
import type { CachedResponse } from './cached-response.js'
import { storableHeaders } from './deliver.js'
import { strongEtag } from './conditional.js'

export interface StoredResponseInput {
  readonly route: CompiledRoute
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The request's `now`: Age counts from when the upstream was asked. */
  readonly now: number
  readonly stamps: readonly string[]
  readonly compressAboveBytes: number
}

/**
 * What is written to the store for an admitted upstream response. Bodies above the threshold
 * that the upstream did not encode itself are kept gzip-compressed (served as-is to clients that
 * accept gzip, decompressed for the others), so Redis holds fewer bytes per entry.
 */
export function makeCachedResponse(input: StoredResponseInput): CachedResponse {
  const upstreamEncoded = input.headers['content-encoding'] !== undefined && input.headers['content-encoding'] !== 'identity'
  const compress = !upstreamEncoded && input.body.length >= input.compressAboveBytes
  const upstreamEtag = typeof input.headers.etag === 'string' ? input.headers.etag : undefined
  return {
    status: input.status,
    headers: storableHeaders(input.headers),
    body: compress ? gzipSync(input.body, { level: 4 }) : input.body,
    storedEncoding: compress ? 'gzip' : 'identity',
    etag: strongEtag(upstreamEtag, () => createHash('sha256').update(input.body).digest('base64url').slice(0, 27)),
    storedAt: input.now,
    expiresAt: input.now + input.route.ttlMs,
    stamps: input.stamps.join(' '),
  }
}

/** How long the store keeps an entry: its ttl, both stale windows, and a grace to report EXPIRED. */
export function storeLifetimeMs(route: CompiledRoute): number {
  return route.ttlMs + Math.max(route.staleWhileRevalidateMs, route.staleIfErrorMs) + EXPIRED_GRACE_MS
}

const EXPIRED_GRACE_MS = 30_000
