import type { IncomingHttpHeaders } from 'node:http'
import type { CompiledRoute } from '../config/types.js'
import type { Reason } from './reasons.js'

/** VCL's backend_response: may this upstream response be stored? Small named checks. */
export type AdmissionVerdict = { readonly admit: true } | { readonly admit: false; readonly reason: Reason }

const MAX_VARY_HEADERS = 8
const ADMIT: AdmissionVerdict = { admit: true }

export function decideAdmission(route: CompiledRoute, status: number, headers: IncomingHttpHeaders): AdmissionVerdict {
  return checkStatus(route, status)
    ?? checkSetCookie(headers)
    ?? checkCacheControl(headers)
    ?? checkVary(headers)
    ?? checkDeclaredSize(route, headers)
    ?? ADMIT
}

function checkStatus(route: CompiledRoute, status: number): AdmissionVerdict | undefined {
  return route.statuses.has(status) ? undefined : { admit: false, reason: 'UNCACHEABLE-STATUS' }
}

function checkSetCookie(headers: IncomingHttpHeaders): AdmissionVerdict | undefined {
  return headers['set-cookie'] === undefined ? undefined : { admit: false, reason: 'UNCACHEABLE-SET-COOKIE' }
}

/** RFC 9111 section 5.2.2: no-store and private forbid a shared cache; no-cache needs revalidation we cannot do. */
function checkCacheControl(headers: IncomingHttpHeaders): AdmissionVerdict | undefined {
  const directives = (headers['cache-control'] ?? '').toLowerCase()
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(directives)) return { admit: false, reason: 'UNCACHEABLE-NO-STORE' }
  if (/(^|[\s,])private([\s,=]|$)/.test(directives)) return { admit: false, reason: 'UNCACHEABLE-PRIVATE' }
  return undefined
}

function checkVary(headers: IncomingHttpHeaders): AdmissionVerdict | undefined {
  const names = varyNames(headers)
  if (names.includes('*') || names.length > MAX_VARY_HEADERS) return { admit: false, reason: 'UNCACHEABLE-VARY' }
  return undefined
}

function checkDeclaredSize(route: CompiledRoute, headers: IncomingHttpHeaders): AdmissionVerdict | undefined {
  const length = Number(headers['content-length'] ?? 0)
  return length > route.maxEntryBytes ? { admit: false, reason: 'TOO-LARGE' } : undefined
}

/** The request headers the upstream says its response depends on (RFC 9110 section 12.5.5), lower-case, sorted. */
export function varyNames(headers: IncomingHttpHeaders): string[] {
  const vary = headers.vary
  if (!vary) return []
  const text = Array.isArray(vary) ? vary.join(',') : vary
  return [...new Set(text.split(',').map((v) => v.trim().toLowerCase()).filter(Boolean))].sort()
}
