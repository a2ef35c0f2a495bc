/**
 * Clean-up after a failure or an interrupt (remove what a failed start or exec created) must reach
 * containerd even when the caller's calls were cancelled by Ctrl-C: then it goes over a fresh connection.
 */
import {VersionDefinition} from '../../gen/containerd/services/version/v1/version'
import {ContainerdClient} from './client'
import {CtrError} from './errors'
import {retry} from '../retry'

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

/** How often clean-up is retried while containerd does not answer. */
export const CLEANUP_RETRY_INTERVAL_MS = 250

/**
 * Runs `cleanup` until it succeeds, retrying while containerd is unreachable (killed, restarting) for at
 * most `withinMs`. Any failure is retried: a daemon that has just come back answers some calls with other
 * errors while it reloads its shims. Resolves true once done, false if it never could be.
 */
export async function retryWhileUnavailable(
  client: ContainerdClient,
  withinMs: number,
  cleanup: (client: ContainerdClient) => Promise<unknown>,
): Promise<boolean> {
  const interval = {initialMs: CLEANUP_RETRY_INTERVAL_MS, maxMs: CLEANUP_RETRY_INTERVAL_MS, factor: 1, jitter: 'none'} as const
  return retry(
    async (retrier) => {
      // A fresh connection each time: the old one waits out grpc-js's reconnect back-off (1 s, 1.6 s, ...).
      // Each attempt's calls end by the overall deadline: a daemon that accepts but never answers does not
      // stretch the retries past withinMs.
      const fresh = new ContainerdClient({
        address: client.address,
        namespace: client.namespace,
        timeoutMs: Math.max(1, Math.min(client.timeoutMs || CLEANUP_TIMEOUT_MS, retrier.remainingMs())),
      })
      try {
        await cleanup(fresh)
        return true
      } finally {
        fresh.close()
      }
    },
    {backoff: interval, withinMs},
  ).catch(() => false)
}

/**
 * How long a roll-back waits for containerd to answer anything once a call went unanswered (its deadline
 * passed, or ctr was interrupted or timed out while waiting): a paused or hung daemon must not hold the roll-back
 * for further full call deadlines.
 */
export const PROBE_TIMEOUT_MS = 1000

/**
 * Whether containerd answers at all: Version (no locks, no namespace) on a fresh connection within `withinMs`.
 * 'silent' when the socket accepts but nothing answers (a paused daemon), 'unreachable' when it cannot be
 * connected to (dead, restarting).
 */
export async function daemonAnswers(client: ContainerdClient, withinMs: number): Promise<'answers' | 'silent' | 'unreachable'> {
  const fresh = new ContainerdClient({address: client.address, namespace: client.namespace, timeoutMs: withinMs})
  try {
    await fresh.service(VersionDefinition).version({})
    return 'answers'
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'deadline-exceeded') return 'silent'
    return error instanceof CtrError && error.kind === 'unavailable' ? 'unreachable' : 'answers'
  } finally {
    fresh.close()
  }
}
