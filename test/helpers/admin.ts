import type { Test } from 'tap'
import { startHarness, type Harness, type HarnessOptions } from './proxy.js'

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef'

export interface AdminHarness extends Harness {
  admin(path: string, init?: RequestInit): Promise<Response>
}

/** A harness whose proxy also runs the admin server on its own port. */
export async function startAdminHarness(t: Test, options: HarnessOptions = {}): Promise<AdminHarness> {
  const h = await startHarness(t, { ...options, extra: `admin:\n  host: 127.0.0.1\n  port: 0\n  token: \${ADMIN_TOKEN}\n${options.extra ?? ''}`, env: { ADMIN_TOKEN, ...options.env } })
  const adminUrl = h.proxy.adminUrl
  if (!adminUrl) throw new Error('admin server not started')
  return {
    ...h,
    admin: (path, init = {}) => fetch(adminUrl + path, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } }),
  }
}

/** The value of one series in a /metrics text, or undefined when it is not listed (unlike a zero). */
export function seriesValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}
