import { randomBytes } from 'node:crypto'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A key prefix no other test uses, so suites can share one Redis without FLUSHALL. */
export function uniquePrefix(label: string): string {
  return `ccp-test:${label}:${randomBytes(4).toString('hex')}:`
}
