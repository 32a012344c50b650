import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import type { CachedResponse } from '../request/cached-response.js'
import { isNotModified, gzipEtag } from '../request/conditional.js'
import { acceptsEncoding } from '../request/negotiate-encoding.js'
import type { XCache } from '../request/reasons.js'
import type { L1Cache, L1Entry } from './l1-cache.js'

/** RFC 9110 section 15.4.5: the headers a 304 carries. */
const NOT_MODIFIED_HEADERS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary'])

export interface DeliveryLabels {
  readonly xcache: XCache
  readonly cacheStatus: string
  readonly age: number
}

/** A stored response's copy in L1, when it came from there: its decoded body is kept with it. */
export interface FromL1 { readonly l1: L1Cache; readonly key: string; readonly entry: L1Entry }

/**
 * VCL's deliver: a stored response to the client, as a 304 when its validators match, in the
 * stored gzip form when the client accepts it and decoded otherwise. Apart from the cache
 * headers (and ETag/Vary/Content-Encoding where the proxy compressed), byte-identical to
 * what the upstream sent.
 */
export function makeDeliverCached() {
  return (request: FastifyRequest, reply: FastifyReply, response: CachedResponse, labels: DeliveryLabels, fromL1?: FromL1) =>
    deliverCached(request, reply, response, labels, fromL1)
}

function deliverCached(request: FastifyRequest, reply: FastifyReply, response: CachedResponse, labels: DeliveryLabels, fromL1: FromL1 | undefined): void {
  const prepared = fromL1 ? preparedOfL1(fromL1.l1, fromL1.key, fromL1.entry) : preparedOf(response)
  const form = chooseForm(prepared, request.headers)
  const headers = form.headers
  reply.header('age', String(labels.age)).header('x-cache', labels.xcache).header('cache-status', labels.cacheStatus)
  if (isNotModified(request.headers, prepared.etags, form.lastModified)) {
    for (const [name, value] of Object.entries(headers)) if (NOT_MODIFIED_HEADERS.has(name)) reply.header(name, value)
    reply.code(304).send()
    return
  }
  reply.code(response.status).headers(headers)
  if (form.gzip) reply.header('content-encoding', 'gzip')
  reply.send(fromL1 ? bodyOf(prepared, form, fromL1.l1, fromL1.key, fromL1.entry) : bodyOf(prepared, form, undefined, '', undefined))
}

/**
 * The L1 fast path (before Fastify's routing): answers a HIT from an L1 copy with one prepared
 * header block, and the same bytes, status and headers as `deliverCached` would produce
 * through Fastify for a GET (see test/proxy/fast-path.test.ts). Returns false, having written
 * nothing, for anything it does not prepare (a status without a body, a content type Fastify
 * would replace, odd header names): Fastify then serves it.
 */
export function writeHitFromL1(headers: IncomingHttpHeaders, res: ServerResponse, l1: L1Cache, key: string, entry: L1Entry, requestId: string, age: number, cacheStatus: string): boolean {
  const prepared = preparedOfL1(l1, key, entry)
  const form = chooseForm(prepared, headers)
  const notModified = isNotModified(headers, prepared.etags, form.lastModified)
  const block = notModified ? form.raw304 : form.raw
  if (block === undefined) return false
  const fields = block.fields
  // writeHead copies the fields into the header string at once and keeps no reference to the
  // array, so the one prepared array is filled in place for each response.
  if (block.requestIdAt >= 0) fields[block.requestIdAt] = requestId
  fields[block.ageAt] = age === form.lastAge ? form.lastAgeText : ageText(form, age)
  fields[block.cacheStatusAt] = cacheStatus
  if (notModified) {
    res.writeHead(304, fields)
    res.end()
    return true
  }
  const body = bodyOf(prepared, form, l1, key, entry)
  // A gzip entry's decoded length is known once it was decoded (the same bytes every time).
  if (fields[block.lengthAt] === '') fields[block.lengthAt] = String(body.length)
  res.writeHead(entry.response.status, fields)
  res.end(body)
  return true
}

function ageText(form: Form, age: number): string {
  form.lastAge = age
  form.lastAgeText = String(age)
  return form.lastAgeText
}

/** One representation (as stored, or decoded), prepared once per stored response. */
interface Form {
  /** The stored headers with this form's ETag and Vary, as Fastify's reply.headers() takes them. */
  readonly headers: Record<string, string | string[]>
  readonly lastModified: string | undefined
  /** Sent gzip-encoded (the stored bytes of a gzip entry). */
  readonly gzip: boolean
  /** The fast path's header blocks (200 and 304); undefined where Fastify must answer. */
  readonly raw: RawBlock | undefined
  readonly raw304: RawBlock | undefined
  lastAge: number
  lastAgeText: string
}

/** A flat [name, value, ...] header list in the order Fastify writes it, with the per-request slots. */
interface RawBlock {
  readonly fields: string[]
  /** -1 when the stored headers carry an X-Request-ID, which then wins as it does in Fastify's reply.headers(). */
  readonly requestIdAt: number
  readonly ageAt: number
  readonly cacheStatusAt: number
  /** The Content-Length value's index (-1 on a 304); empty until the decoded length is known. */
  readonly lengthAt: number
}

interface Prepared {
  readonly response: CachedResponse
  /** Both forms' validators: a conditional request matches either (weak comparison). */
  readonly etags: readonly string[]
  /** The form sent to clients that do not accept gzip (the stored one when stored as-is). */
  readonly identity: Form
  /** The stored gzip form, for entries stored compressed. */
  readonly gzip: Form | undefined
  /** The decoded body of a gzip entry, kept only with an L1 copy (and counted in its bound). */
  decoded: Buffer | undefined
}

function chooseForm(prepared: Prepared, headers: IncomingHttpHeaders): Form {
  if (prepared.gzip === undefined) return prepared.identity
  return acceptsGzip(headers['accept-encoding']) ? prepared.gzip : prepared.identity
}

/** Accept-Encoding values seen recently and whether they accept gzip: most clients send one of a few. */
const acceptsGzipSeen = new Map<string, boolean>()

function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false
  let accepted = acceptsGzipSeen.get(acceptEncoding)
  if (accepted === undefined) {
    accepted = acceptsEncoding(acceptEncoding, 'gzip')
    if (acceptsGzipSeen.size >= 256) acceptsGzipSeen.clear()
    acceptsGzipSeen.set(acceptEncoding, accepted)
  }
  return accepted
}

function bodyOf(prepared: Prepared, form: Form, l1: L1Cache | undefined, key: string, entry: L1Entry | undefined): Buffer {
  const response = prepared.response
  if (form.gzip || response.storedEncoding !== 'gzip') return response.body
  if (prepared.decoded !== undefined) return prepared.decoded
  const decoded = gunzipSync(response.body)
  // Kept with the L1 copy and counted in L1's byte bound (evicting older copies), so a copy is
  // decoded once rather than on every hit; a response not in L1 is decoded per request.
  if (l1 !== undefined && entry !== undefined && l1.attach(key, entry, prepared, decoded.length + preparedBytes(prepared))) prepared.decoded = decoded
  return decoded
}

/** Prepared forms of responses outside L1 (Redis hits, stale and collapsed deliveries), as long as the response object lives. */
const preparedForms = new WeakMap<CachedResponse, Prepared>()

function preparedOf(response: CachedResponse): Prepared {
  let prepared = preparedForms.get(response)
  if (!prepared) {
    prepared = prepare(response)
    preparedForms.set(response, prepared)
  }
  return prepared
}

/** An L1 copy keeps its prepared forms with it (L1Entry.extra), counted in the bound once its body is decoded. */
function preparedOfL1(l1: L1Cache, key: string, entry: L1Entry): Prepared {
  const extra = entry.extra as Prepared | undefined
  if (extra !== undefined) return extra
  const prepared = preparedOf(entry.response)
  l1.attach(key, entry, prepared, preparedBytes(prepared))
  return prepared
}

function preparedBytes(prepared: Prepared): number {
  let bytes = prepared.decoded?.length ?? 0
  for (const form of [prepared.identity, prepared.gzip]) {
    for (const field of form?.raw?.fields ?? []) bytes += field.length
    for (const field of form?.raw304?.fields ?? []) bytes += field.length
  }
  return bytes * 2
}

function prepare(response: CachedResponse): Prepared {
  const gzipped = response.storedEncoding === 'gzip'
  const identity = makeForm(response, headerObject(response, response.etag, gzipped), false)
  const gzip = gzipped ? makeForm(response, headerObject(response, gzipEtag(response.etag), gzipped), true) : undefined
  return { response, etags: [response.etag, gzipEtag(response.etag)], identity, gzip, decoded: undefined }
}

function makeForm(response: CachedResponse, headers: Record<string, string | string[]>, gzip: boolean): Form {
  const lastModified = typeof headers['last-modified'] === 'string' ? headers['last-modified'] : undefined
  const bodyLength = gzip || response.storedEncoding !== 'gzip' ? response.body.length : undefined
  return {
    headers, lastModified, gzip, lastAge: -1, lastAgeText: '',
    raw: rawBlock(response.status, headers, { gzip, bodyLength }),
    raw304: rawBlock(304, headers, undefined),
  }
}

/** A media type Fastify's reply.send() keeps as it is for a Buffer payload (a subset of what its ContentType accepts). */
const PLAIN_CONTENT_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+[ \t]*(;|$)/
const ARRAY_INDEX = /^\d+$/

/**
 * The header object Fastify builds for a hit, in its order: X-Request-ID (the onRequest hook),
 * Age, X-Cache, Cache-Status (deliverCached), the stored headers (reply.headers: a stored name
 * replaces an earlier one in place), Content-Encoding, then Content-Length (reply.send of a
 * Buffer). A 304 carries the first four and NOT_MODIFIED_HEADERS. `ok` undefined = 304.
 * The body length of a gzip entry's decoded form is known only after decoding: it is filled in
 * on first use (writeHitFromL1).
 */
function rawBlock(status: number, headers: Record<string, string | string[]>, ok: { gzip: boolean; bodyLength: number | undefined } | undefined): RawBlock | undefined {
  if (status < 200 || status === 204 || status === 304 && ok !== undefined) return undefined
  const names = Object.keys(headers)
  // Names Fastify's plain-object header store would reorder or treat specially: left to Fastify.
  if (names.some((name) => ARRAY_INDEX.test(name) || name === '__proto__' || name === 'set-cookie' || name !== name.toLowerCase())) return undefined
  const object: Record<string, string | string[]> = { 'x-request-id': '', age: '', 'x-cache': 'HIT', 'cache-status': '' }
  for (const name of names) {
    if (ok === undefined && !NOT_MODIFIED_HEADERS.has(name)) continue
    object[name] = headers[name] as string | string[]
  }
  if (ok !== undefined) {
    const contentType = object['content-type']
    if (typeof contentType !== 'string' || !PLAIN_CONTENT_TYPE.test(contentType)) return undefined
    if (ok.gzip) object['content-encoding'] = 'gzip'
    if (object['content-length'] !== undefined) return undefined
    object['content-length'] = ok.bodyLength === undefined ? '' : String(ok.bodyLength)
  }
  for (const name of ['age', 'x-cache', 'cache-status']) if (Object.prototype.hasOwnProperty.call(headers, name)) return undefined
  const fields: string[] = []
  for (const [name, value] of Object.entries(object)) {
    for (const item of Array.isArray(value) ? value : [value]) fields.push(name, item)
  }
  const storedRequestId = Object.prototype.hasOwnProperty.call(headers, 'x-request-id') && (ok !== undefined || NOT_MODIFIED_HEADERS.has('x-request-id'))
  // The first four names are the ones set first; a stored X-Request-ID only replaced its value.
  if (fields[0] !== 'x-request-id' || fields[2] !== 'age' || fields[6] !== 'cache-status') return undefined
  return { fields, requestIdAt: storedRequestId ? -1 : 1, ageAt: 3, cacheStatusAt: 7, lengthAt: ok === undefined ? -1 : fields.length - 1 }
}

function headerObject(response: CachedResponse, etag: string, gzipped: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of response.headers) {
    const prior = out[name]
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
  }
  out.etag = etag
  if (gzipped) out.vary = mergeVary(out.vary, 'Accept-Encoding')
  return out
}

function mergeVary(existing: string | string[] | undefined, name: string): string {
  const names = (Array.isArray(existing) ? existing.join(',') : existing ?? '').split(',').map((v) => v.trim()).filter(Boolean)
  if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name)
  return names.join(', ')
}
