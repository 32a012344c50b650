import { writeFileSync } from 'node:fs'
import type { CapturedResponse } from '../servers/ceiling-server.js'

/** Framing and per-response headers a server adds by itself; everything else is replayed as captured. */
const NOT_REPLAYED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'])

/**
 * Fetches one response and keeps its status, end-to-end headers and body bytes. fetch() asks for
 * gzip unless told otherwise and hands back the decoded bytes, so a capture without an
 * Accept-Encoding of its own asks for identity: the headers kept are those of the bytes kept
 * (the form wrk, which sends no Accept-Encoding, is answered with).
 */
export async function captureResponse(url: string, path: string, headers: Record<string, string>): Promise<CapturedResponse> {
  const response = await fetch(url + path, { headers: { 'accept-encoding': 'identity', ...headers } })
  const body = Buffer.from(await response.arrayBuffer())
  const kept: [string, string][] = []
  response.headers.forEach((value, name) => { if (!NOT_REPLAYED.has(name)) kept.push([name, value]) })
  return { url: path, status: response.status, headers: kept, bodyBase64: body.toString('base64') }
}

export function writeCapture(file: string, captured: CapturedResponse): string {
  writeFileSync(file, JSON.stringify(captured))
  return file
}

export function bodyBytes(captured: CapturedResponse): number {
  return Buffer.from(captured.bodyBase64, 'base64').length
}
