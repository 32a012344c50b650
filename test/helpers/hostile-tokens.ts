import { createHmac, createSign, generateKeyPairSync } from 'node:crypto'

/**
 * Hand-made JWTs, for the tokens a signing library refuses to make: HMAC with a public key
 * as the secret (HS/RS algorithm confusion), headers naming other keys, broken encodings.
 */
export interface RsaPair { readonly publicKey: string; readonly privateKey: string }

export function makeRsaPair(): RsaPair {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function signJwt(header: Record<string, unknown>, payload: unknown, key: { hmac: string } | { rsa: string }): string {
  return signJwtText(header, JSON.stringify(payload), key)
}

/** The payload as JSON text, for what JSON.stringify cannot write (integers beyond 2^53). */
export function signJwtText(header: Record<string, unknown>, payloadJson: string, key: { hmac: string } | { rsa: string }): string {
  const input = `${part(header)}.${Buffer.from(payloadJson).toString('base64url')}`
  const alg = String(header.alg)
  const bits = alg.slice(2)
  const signature = 'hmac' in key
    ? createHmac(`sha${bits}`, key.hmac).update(input).digest('base64url')
    : createSign(`RSA-SHA${bits}`).update(input).sign(key.rsa, 'base64url')
  return `${input}.${signature}`
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
