/**
 * The one retry loop: waiting through a daemon restart (`waitContainer`), clean-up retries
 * (`retryWhileUnavailable`), the events reconnect (`watchEvents`), a content ref another writer holds
 * (`writeBlob`) and the benchmark's clean-up. Each says which failures are worth another attempt, how long
 * to wait between attempts (backoff.ts) and for how long in all; an abort ends the wait at once.
 */
import {type BackoffOptions, backoffDelay, DEFAULT_BACKOFF} from './backoff'
import {sleep} from './sleep'

export interface RetryPolicy {
  /** Whether this failure is worth another attempt; otherwise it is thrown as it is. Default: every failure. */
  retryable?: (error: unknown) => boolean
  /** The delays between attempts (default DEFAULT_BACKOFF: 250 ms doubling to 10 s, equal jitter). */
  backoff?: BackoffOptions
  /**
   * Give up, throwing the last failure, rather than wait past this many ms after the retries began (or after
   * the last `succeeded()`: an outage, not a whole run). Default: no limit.
   */
  withinMs?: number
  /** Aborting it ends a wait at once, with the signal's reason. */
  signal?: AbortSignal
  /** Told before each wait: the failure, the retry's number (1 for the first) and the delay. */
  onRetry?: (retry: {error: unknown; attempt: number; delayMs: number}) => void
  /** For jitter (tests pass a fixed one). */
  random?: () => number
}

/**
 * The state of one retry loop, for loops that do more than call one function (a stream that yields between
 * failures): `failed(error)` waits before the next attempt or throws; `succeeded()` starts afresh.
 */
export class Retrier {
  private attempt = 0
  private since = Date.now()

  constructor(private readonly policy: RetryPolicy = {}) {}

  /** Retries made since the start or the last success. */
  get attempts(): number {
    return this.attempt
  }

  /** ms left before withinMs runs out (Infinity without one): an attempt's own deadline can be bounded by it. */
  remainingMs(): number {
    return this.policy.withinMs === undefined ? Infinity : this.since + this.policy.withinMs - Date.now()
  }

  /**
   * After a failed attempt: resolves once the next attempt may start, or throws `error` when it is not
   * retryable, waiting would pass withinMs, or the signal has aborted (then its reason). `onRetry` replaces
   * the policy's for this wait.
   */
  async failed(error: unknown, onRetry = this.policy.onRetry): Promise<void> {
    const {signal, retryable} = this.policy
    if (signal?.aborted) throw error
    if (retryable && !retryable(error)) throw error
    const delayMs = backoffDelay(this.attempt, this.policy.backoff ?? DEFAULT_BACKOFF, this.policy.random)
    if (delayMs > this.remainingMs()) throw error
    this.attempt++
    onRetry?.({error, attempt: this.attempt, delayMs})
    await sleep(delayMs, signal)
  }

  /** An attempt worked (a connection held, an event came): the next failure is a new outage. */
  succeeded(): void {
    this.attempt = 0
    this.since = Date.now()
  }
}

/** `attempt` until it resolves, under `policy` (see Retrier.failed for when it stops). */
export async function retry<T>(attempt: (retrier: Retrier) => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const retrier = new Retrier(policy)
  for (;;) {
    try {
      return await attempt(retrier)
    } catch (error) {
      await retrier.failed(error)
    }
  }
}
