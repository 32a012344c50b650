import { randomBytes } from 'node:crypto'

/** A fresh random stamp: 64 bits, enough that a deleted-and-recreated stamp never repeats. */
export function makeStamp(): string {
  return randomBytes(8).toString('base64url')
}
