/** Undo actions registered as resources are acquired, run in reverse order on shutdown. */
export interface CleanupStack {
  push(label: string, action: () => Promise<unknown>): void
  /** Runs every action once, newest first; a failing action is reported and the rest still run. */
  run(): Promise<void>
}

export function makeCleanupStack(report: (message: string) => void): CleanupStack {
  const actions: { label: string; action: () => Promise<unknown> }[] = []
  return {
    push: (label, action) => { actions.push({ label, action }) },
    async run() {
      for (let next = actions.pop(); next !== undefined; next = actions.pop()) {
        try {
          await next.action()
        } catch (err) {
          report(`could not ${next.label}: ${err instanceof Error ? err.message : String(err)}`)
        }
      }
    },
  }
}
