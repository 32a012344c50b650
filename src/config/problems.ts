/** One thing wrong with a config, located by its path in the document (and line, when known). */
export interface ConfigProblem {
  readonly path: readonly (string | number)[]
  readonly message: string
  readonly line?: number
}

/** Collects problems while compiling; compilers keep going so that every problem is reported at once. */
export class ProblemList {
  readonly items: ConfigProblem[] = []

  add(path: readonly (string | number)[], message: string): void {
    this.items.push({ path, message })
  }

  get empty(): boolean {
    return this.items.length === 0
  }
}

/** `routes[0].ttl` style, for humans. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)'
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}`
  return `${where}: ${formatPath(problem.path)}: ${problem.message}`
}
