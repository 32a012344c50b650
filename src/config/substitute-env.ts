/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string of the parsed YAML. Substituting
 * after parsing means a secret containing `: ` or `#` cannot change the document's structure.
 */
export interface EnvProblem { readonly path: (string | number)[]; readonly message: string }

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: EnvProblem[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, problems, path)
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, problems, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, problems, [...path, key])
    return out
  }
  return value
}

function substituteString(text: string, env: NodeJS.ProcessEnv, problems: EnvProblem[], path: (string | number)[]): string {
  return text.replace(REFERENCE, (_whole, name: string, fallback: string | undefined) => {
    const found = env[name]
    if (found !== undefined) return found
    if (fallback !== undefined) return fallback
    problems.push({ path, message: `environment variable ${name} is not set` })
    return ''
  })
}
