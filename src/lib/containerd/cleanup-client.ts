/**
 * Clean-up after a failure or an interrupt (remove what a failed start or exec created) must reach
 * containerd even when the caller's calls were cancelled by Ctrl-C: then it goes over a fresh connection.
 */
import {ContainerdClient} from './client'

/** Deadline of each clean-up call when the caller's client has none (--timeout 0): clean-up never hangs. */
export const CLEANUP_TIMEOUT_MS = 10_000

/** Runs `cleanup` on `client`, or on a fresh connection (closed afterwards) once `signal` has aborted. */
export async function withCleanupClient<T>(client: ContainerdClient, signal: AbortSignal | undefined, cleanup: (client: ContainerdClient) => Promise<T>): Promise<T> {
  if (!signal?.aborted) return cleanup(client)
  const fresh = new ContainerdClient({address: client.address, namespace: client.namespace, timeoutMs: client.timeoutMs || CLEANUP_TIMEOUT_MS})
  try {
    return await cleanup(fresh)
  } finally {
    fresh.close()
  }
}

/** How often clean-up is retried while containerd does not answer. */
export const CLEANUP_RETRY_INTERVAL_MS = 250

/**
 * Runs `cleanup` until it succeeds, retrying while containerd is unreachable (killed, restarting) for at
 * most `withinMs`. Any failure is retried: a daemon that has just come back answers some calls with other
 * errors while it reloads its shims. Resolves true once done, false if it never could be.
 */
export async function retryWhileUnavailable(client: ContainerdClient, withinMs: number, cleanup: (client: ContainerdClient) => Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + withinMs
  for (;;) {
    // A fresh connection each time: the old one waits out grpc-js's reconnect back-off (1 s, 1.6 s, ...).
    const fresh = new ContainerdClient({address: client.address, namespace: client.namespace, timeoutMs: Math.min(client.timeoutMs || CLEANUP_TIMEOUT_MS, withinMs)})
    try {
      await cleanup(fresh)
      return true
    } catch {
      if (Date.now() + CLEANUP_RETRY_INTERVAL_MS > deadline) return false
      await new Promise((resolve) => setTimeout(resolve, CLEANUP_RETRY_INTERVAL_MS))
    } finally {
      fresh.close()
    }
  }
}
