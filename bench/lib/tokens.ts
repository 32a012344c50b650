import { makeHelpdeskToken } from '../../examples/helpdesk-api/token.js'

/** Tokens the example API and the proxy accept, signed once per user and reused. */
export interface TokenBook {
  forUser(tenant: number, user: number): string
}

export function makeTokenBook(secret: string): TokenBook {
  const tokens = new Map<string, string>()
  return {
    forUser(tenant, user) {
      const id = `${tenant}:${user}`
      let token = tokens.get(id)
      if (token === undefined) {
        token = makeHelpdeskToken({ secret, claims: { tenant, sub: user }, expiresInSec: 6 * 3600 })
        tokens.set(id, token)
      }
      return token
    },
  }
}
