import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'

/**
 * Calls `onChange` after the config file changes. Watches the directory, not the file:
 * editors and ConfigMap updates replace the file (rename), which a file watch would miss.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 200): () => void {
  const path = resolve(file)
  const name = basename(path)
  let timer: NodeJS.Timeout | undefined
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(path), (_event, changed) => {
      if (changed !== null && changed !== name && !String(changed).startsWith('..data')) return
      clearTimeout(timer)
      timer = setTimeout(onChange, debounceMs)
    })
  } catch {
    return () => {}
  }
  return () => {
    clearTimeout(timer)
    watcher?.close()
  }
}
