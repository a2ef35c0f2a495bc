/**
 * The signals ctr receives go to one owner at a time, the newest that took them: the command line takes
 * SIGINT/SIGTERM/SIGHUP for its own interrupt (src/cli/base-command.ts), and an attached process
 * (tasks/process.ts) takes them on top while it forwards them, or while it holds ctr's interrupt until
 * Tasks.Start has answered. Releasing gives them back to the owner below: no owner needs to know another.
 * While any owner holds a signal, Node's default action for it (exit) is off, as with any listener.
 */

/** An owner's handler; `below` hands the signal on to the owner under this one (if any) at call time. */
export type SignalHandler = (signal: NodeJS.Signals, below: (signal: NodeJS.Signals) => void) => void

const owners = new Map<NodeJS.Signals, SignalHandler[]>()
const listeners = new Map<NodeJS.Signals, () => void>()

/** Takes `signals` from whoever had them; the returned function gives them back (idempotent). */
export function takeSignals(signals: readonly NodeJS.Signals[], handler: SignalHandler): () => void {
  for (const signal of signals) {
    let stack = owners.get(signal)
    if (!stack) {
      stack = []
      owners.set(signal, stack)
      const listener = () => deliver(signal, owners.get(signal)?.at(-1))
      listeners.set(signal, listener)
      process.on(signal, listener)
    }
    stack.push(handler)
  }
  let released = false
  return () => {
    if (released) return
    released = true
    for (const signal of signals) {
      const stack = owners.get(signal) ?? []
      const index = stack.lastIndexOf(handler)
      if (index >= 0) stack.splice(index, 1)
      if (stack.length > 0) continue
      owners.delete(signal)
      process.off(signal, listeners.get(signal)!)
      listeners.delete(signal)
    }
  }
}

function deliver(signal: NodeJS.Signals, handler: SignalHandler | undefined): void {
  if (!handler) return
  handler(signal, (next) => {
    const stack = owners.get(next) ?? []
    const index = stack.lastIndexOf(handler)
    // The owner has released it meanwhile (a held signal delivered later): the current top is below it.
    deliver(next, index >= 0 ? stack[index - 1] : stack.at(-1))
  })
}
