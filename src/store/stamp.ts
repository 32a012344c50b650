import { randomBytes } from 'node:crypto'

/**
 * Random bytes drawn in blocks, as randomUUID() does: a MISS takes a stamp per tag, and one
 * randomBytes call per stamp was seen costing tens of µs on the MISS path (bench profiles).
 */
const BLOCK_BYTES = 4096
const STAMP_BYTES = 8
let block = Buffer.alloc(0)
let offset = 0

/** A fresh random stamp: 64 bits, enough that a deleted-and-recreated stamp never repeats. */
export function makeStamp(): string {
  if (offset + STAMP_BYTES > block.length) {
    block = randomBytes(BLOCK_BYTES)
    offset = 0
  }
  const stamp = block.toString('base64url', offset, offset + STAMP_BYTES)
  offset += STAMP_BYTES
  return stamp
}
