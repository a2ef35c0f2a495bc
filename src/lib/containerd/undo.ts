/**
 * One undo stack for what a start or an exec creates (FIFOs, log file, lease, snapshot, container record,
 * task, exec process, network set-up), in the spirit of AsyncDisposableStack (not built into
 * Node 20/22): each step is recorded as it is created and, on failure, undone in reverse order. Steps that
 * call containerd run on a fresh connection when the caller's was aborted (Ctrl-C: withCleanupClient).
 *
 * After a call went unanswered (its deadline passed, or ctr was aborted while waiting) unwind first checks
 * that containerd answers at all (PROBE_TIMEOUT_MS): a paused or hung daemon gets no further full call
 * deadlines. While containerd cannot be reached (killed, restarting) a step is retried until it answers
 * again, for at most the call deadline (CLEANUP_TIMEOUT_MS with none). What could not be undone is
 * returned, so the error can name it.
 *
 * A class of our own rather than the `disposablestack` polyfill: what unwinding needs beyond calling the
 * disposers in reverse (a fresh connection, the probe, the retries, the list of what is left, steps that
 * stop being ours once a start succeeds) is all ours anyway, and the polyfill pulls in es-shims' runtime.
 */
import type {ContainerdClient} from './client'
import {CLEANUP_TIMEOUT_MS, daemonAnswers, PROBE_TIMEOUT_MS, retryWhileUnavailable, withCleanupClient} from './cleanup-client'
import {CtrError, formatMs, noAnswer} from './errors'
import {trackInFlight} from '../in-flight'

export interface UndoStepOptions {
  /** What is left if this step cannot run, e.g. `maybe a task and its shim` (steps that call containerd). */
  what?: string
  /** No containerd call (a FIFO directory, a log file): always runs, even when containerd is silent. */
  local?: boolean
  /** While recorded, ctr's last words name this as possibly remaining (in-flight.ts), e.g. `container "web"`. */
  inFlight?: string
}

/** What an unwind could not undo, and why: containerd answered nothing, or could not be reached. */
export interface Leftover {
  /** The `what` of each step not undone, in unwind order. */
  what: string[]
  why: 'silent' | 'unreachable'
}

/** A recorded step: dismiss() forgets it (what it undoes is the caller's to keep now). */
export interface UndoStep {
  dismiss(): void
}

interface Step extends UndoStepOptions {
  undo: (client: ContainerdClient) => Promise<unknown>
  forget?: () => void
}

export class UndoStack {
  private steps: Step[] = []

  /** Records how to undo what was just created; `undo` is given the client to use (maybe a fresh one). */
  defer(undo: (client: ContainerdClient) => Promise<unknown>, options: UndoStepOptions = {}): UndoStep {
    const step: Step = {...options, undo, forget: options.inFlight ? trackInFlight(options.inFlight) : undefined}
    this.steps.push(step)
    return {
      dismiss: () => {
        this.steps = this.steps.filter((s) => s !== step)
        step.forget?.()
      },
    }
  }

  /** Forgets every step: all that was created is the caller's now (AsyncDisposableStack's move()). */
  dismiss(): void {
    for (const step of this.steps.splice(0)) step.forget?.()
  }

  get empty(): boolean {
    return this.steps.length === 0
  }

  /**
   * Undoes every step, newest first; a step's own failure (other than containerd being away) is ignored, so
   * the older steps still run. `failure` is why (it decides whether containerd is probed first); `signal`
   * is the caller's abort signal (aborted: a fresh connection).
   */
  async unwind(client: ContainerdClient, options: {failure?: unknown; signal?: AbortSignal} = {}): Promise<Leftover | undefined> {
    const steps = this.steps.splice(0).reverse()
    const budget = client.timeoutMs || CLEANUP_TIMEOUT_MS
    const kind = options.failure instanceof CtrError ? options.failure.kind : undefined
    const unanswered = kind === 'deadline-exceeded' || Boolean(options.signal?.aborted)
    let state: 'answers' | 'silent' | 'unreachable' | 'retry' = kind === 'unavailable' ? 'retry' : 'answers'
    if (unanswered && steps.some((step) => !step.local)) {
      if ((await daemonAnswers(client, Math.min(budget, PROBE_TIMEOUT_MS))) === 'silent') state = 'silent'
    }
    const left: string[] = []
    for (const step of steps) {
      try {
        if (step.local) await step.undo(client).catch(() => undefined)
        else if (state === 'silent' || state === 'unreachable') {
          if (step.what) left.push(step.what)
        } else {
          const done =
            state === 'answers' &&
            (await withCleanupClient(client, options.signal, (c) =>
              step.undo(c).then(
                () => true,
                (error) => !(error instanceof CtrError && (error.kind === 'unavailable' || error.kind === 'deadline-exceeded')),
              ),
            ))
          if (done) continue
          // containerd went away: this step and the rest on fresh connections, until it answers again.
          if (await retryWhileUnavailable(client, budget, step.undo)) state = 'retry'
          else {
            state = 'unreachable'
            if (step.what) left.push(step.what)
          }
        }
      } finally {
        step.forget?.()
      }
    }
    return left.length > 0 ? {what: left, why: state === 'silent' ? 'silent' : 'unreachable'} : undefined
  }
}

/**
 * The error of a failed operation (worded by `word`, e.g. a failed start's one line) saying what its roll-back
 * could not remove (`left`, one phrase naming it and how to remove it), also in CtrError.left so it is said
 * after an interrupt too. When containerd answered nothing at all, a deadline is worded as such (not as a
 * slow call of a daemon that answers).
 */
export function withLeftover(
  client: ContainerdClient,
  error: unknown,
  left: {what: string; why: Leftover['why']} | undefined,
  word: (error: unknown) => unknown = (e) => e,
): unknown {
  const cause =
    left?.why === 'silent' && error instanceof CtrError && error.kind === 'deadline-exceeded'
      ? noAnswer(client.address, client.timeoutMs || undefined, {cause: error})
      : error
  const failure = word(cause)
  if (!left || !(failure instanceof CtrError)) return failure
  const tail =
    left.why === 'silent'
      ? `containerd did not answer the clean-up within ${formatMs(Math.min(client.timeoutMs || CLEANUP_TIMEOUT_MS, PROBE_TIMEOUT_MS))}; may be left: ${left.what}`
      : `containerd could not be reached to clean up, left: ${left.what}`
  return new CtrError(failure.kind, `${failure.message}; ${tail}`, {cause: failure, exitCode: failure.exitCode, left: tail})
}
