import type { ConfigResult } from './load-config.js'
import { formatProblem } from './problems.js'
import { ProxyError } from '../errors.js'

/** One line per problem: `file:line: path: reason`. */
export function describeProblems(result: Extract<ConfigResult, { ok: false }>): string[] {
  return result.problems.map((p) => formatProblem(result.source, p))
}

export function configError(result: Extract<ConfigResult, { ok: false }>): ProxyError {
  return new ProxyError('CCP_CONFIG_INVALID', `invalid config ${result.source}:\n  ${describeProblems(result).join('\n  ')}`)
}
