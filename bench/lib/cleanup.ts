/**
 * Everything the benchmark starts or creates registers its undo here, newest first. Ctrl-C
 * and SIGTERM run the stack too, so no proxy, nginx, database or Redis key is left behind.
 */
export interface CleanupStack {
  push(label: string, undo: () => Promise<void> | void): void
  run(): Promise<void>
}

export function makeCleanupStack(say: (line: string) => void): CleanupStack {
  const steps: { label: string; undo: () => Promise<void> | void }[] = []
  let running: Promise<void> | undefined
  async function runAll(): Promise<void> {
    while (steps.length > 0) {
      const step = steps.pop()
      if (step === undefined) break
      try {
        await step.undo()
      } catch (err) {
        say(`cleanup "${step.label}" failed: ${(err as Error).message}`)
      }
    }
  }
  return {
    push: (label, undo) => void steps.push({ label, undo }),
    run: () => (running ??= runAll()),
  }
}

/** On the first SIGINT/SIGTERM: clean up, then exit 130. A second signal exits at once. */
export function cleanUpOnSignal(cleanup: CleanupStack, say: (line: string) => void): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130)
    stopping = true
    say(`${signal}: cleaning up (press Ctrl-C again to exit at once)`)
    void cleanup.run().finally(() => process.exit(130))
  }
  process.on('SIGINT', handle)
  process.on('SIGTERM', handle)
}
