import pino, { type Logger } from 'pino'

/** Paths that may carry credentials; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-explain-authorization"]',
  'headers.authorization', 'headers.cookie', '*.token', '*.secret', '*.password', 'token', 'secret', 'password',
]

export function makeLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'cdc-cache-proxy' } }
  return destination ? pino(options, destination) : pino(options)
}
