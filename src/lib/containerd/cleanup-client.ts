/**
 * Clean-up after a failure or an interrupt (remove what a failed start or exec created) must reach
 * containerd even when the caller's calls were cancelled by Ctrl-C: then it goes over a fresh connection.
 */
import {ContainerdClient} from './client'

/** Deadline of each clean-up call when the caller's client has none (--timeout 0): clean-up never hangs. */
export const CLEANUP_TIMEOUT_MS = 10_000

/** Runs `cleanup` on `client`, or on a fresh connection (closed afterwards) once `signal` has aborted. */
export async function withCleanupClient<T>(
  client: ContainerdClient,
  signal: AbortSignal | undefined,
  cleanup: (client: ContainerdClient) => Promise<T>,
): Promise<T> {
  if (!signal?.aborted) return cleanup(client)
  const fresh = new ContainerdClient({address: client.address, namespace: client.namespace, timeoutMs: client.timeoutMs || CLEANUP_TIMEOUT_MS})
  try {
    return await cleanup(fresh)
  } finally {
    fresh.close()
  }
}
