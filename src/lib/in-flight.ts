/**
 * What ctr has created in containerd (or on disk) and not yet cleaned up, process-wide: when ctr must exit
 * before its clean-up has run (a second Ctrl-C, the daemon gone for good), it can still say exactly what may
 * remain. Start, exec, attach and an import's lease register here; nothing else reads it but the command
 * line's last words.
 */
const items = new Map<number, string>()
let next = 0

/** Records `what` (e.g. `container "web"`); the returned function forgets it once it is cleaned up. */
export function trackInFlight(what: string): () => void {
  const key = next++
  items.set(key, what)
  return () => void items.delete(key)
}

/** Everything still tracked, oldest first, e.g. [`container "web"`, `exec "e1" in container "web"`]. */
export function inFlight(): string[] {
  return [...new Set(items.values())]
}
