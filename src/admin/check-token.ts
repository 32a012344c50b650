import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Bearer token check in constant time. Both sides are hashed first so that the comparison
 * does not leak the token's length either.
 */
export function makeTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest()
  return (authorization) => {
    const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? ''
    return timingSafeEqual(createHash('sha256').update(given).digest(), expected)
  }
}
