import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Finds `relativePath` in the directory of `fromUrl` or its nearest ancestor that has it.
 * The same module runs from its source (tap), from dist/ (npm run demo) and from /app/dist in
 * the container, so files that tsc does not copy (schema.sql, config/) are looked up, not
 * assumed at a fixed depth.
 */
export function findUp(fromUrl: string | URL, relativePath: string): string | undefined {
  let dir = dirname(fileURLToPath(fromUrl))
  for (;;) {
    const candidate = join(dir, relativePath)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** Like findUp, but a missing file is an error that says where it was looked for. */
export function requireUp(fromUrl: string | URL, relativePath: string): string {
  const found = findUp(fromUrl, relativePath)
  if (found === undefined) {
    throw new Error(`${relativePath} not found in ${dirname(fileURLToPath(fromUrl))} or any parent directory`)
  }
  return found
}
