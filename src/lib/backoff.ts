/**
 * Exponential back-off with a cap and jitter, for re-subscribing to a daemon that went away. Jitter keeps a
 * fleet of watchers from hammering a restarted daemon in lock-step (AWS's "Exponential Backoff And Jitter").
 * Pure: the random source is a parameter, so tests are exact.
 */

export type Jitter = 'full' | 'equal' | 'none'

export interface BackoffOptions {
  /** Delay ceiling before jitter for the first retry, in ms. */
  initialMs: number
  /** Ceiling for any delay, in ms. */
  maxMs: number
  /** Growth per attempt (2 = doubling). */
  factor: number
  /** full: uniform in [0, d); equal: uniform in [d/2, d); none: d. */
  jitter: Jitter
}

export const DEFAULT_BACKOFF: BackoffOptions = {initialMs: 250, maxMs: 10_000, factor: 2, jitter: 'equal'}

/** The delay before retry number `attempt` (0-based), in whole ms. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`)
  // Math.min before the power would overflow to Infinity after ~1000 attempts; Infinity is still capped.
  const ceiling = Math.min(options.maxMs, options.initialMs * options.factor ** attempt)
  const r = Math.min(Math.max(random(), 0), 1)
  switch (options.jitter) {
    case 'full':
      return Math.floor(ceiling * r)
    case 'equal':
      return Math.floor(ceiling / 2 + (ceiling / 2) * r)
    default:
      return Math.floor(ceiling)
  }
}

/** A retry counter: next() gives the next delay, reset() after a success starts again from the smallest one. */
export class Backoff {
  private attempt = 0

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Retries made since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random)
  }

  reset(): void {
    this.attempt = 0
  }
}
