/**
 * Verbs on several IDs (kill, delete, stop, wait, info, ...) keep going past a failure, report each one, and
 * end with the worst exit code, as Go ctr's `delete` does. Duplicates are acted on once. The calls run
 * concurrently on the command's one connection, a bounded number at a time, and what each prints comes out
 * in the order the IDs were given (docs/decisions/scripting.md, "Several IDs").
 */
import {CtrError} from '../lib/containerd/errors'
import {errorText} from './error-text'
import {write} from './output/streams'

export interface EachResult<T> {
  results: T[]
  failures: Array<{id: string; error: CtrError}>
}

export interface EachOptions<T> {
  /** How many calls may be in flight at once (default EACH_CONCURRENCY; 1 runs them in turn). */
  concurrency?: number
  /** Called for each success in argument order (never two at once), as soon as the IDs before it are done. */
  onResult?: (result: T, id: string) => void
  /** The command's abort signal: once aborted, no further ID is started and the run ends with its reason. */
  signal?: AbortSignal
}

/** Enough to hide the daemon's round-trip time; few enough not to swamp a shared daemon (containerd serialises per task anyway). */
export const EACH_CONCURRENCY = 8

/**
 * Runs fn for each distinct ID, up to `concurrency` at once. Results and failures are in argument order.
 * An interrupt (a `cancelled` error, or the signal aborting) stops the whole run: nothing new starts, the
 * calls in flight (which the same abort cancels) are waited for, and the interrupt is thrown once rather
 * than reported once per remaining ID.
 */
export async function forEachId<T>(ids: readonly string[], fn: (id: string) => Promise<T>, options: EachOptions<T> = {}): Promise<EachResult<T>> {
  const unique = [...new Set(ids)]
  const outcomes: Array<{result: T} | {error: CtrError} | undefined> = Array.from({length: unique.length})
  let next = 0 // the next ID to start
  let printed = 0 // the IDs whose outcome has been handed to onResult
  let stop: CtrError | undefined
  const flush = () => {
    while (printed < unique.length && outcomes[printed] !== undefined) {
      const outcome = outcomes[printed]!
      if ('result' in outcome) options.onResult?.(outcome.result, unique[printed])
      printed++
    }
  }
  const worker = async () => {
    while (next < unique.length && !stop && !options.signal?.aborted) {
      const index = next++
      try {
        outcomes[index] = {result: await fn(unique[index])}
      } catch (error) {
        const ctrError = toEachError(error)
        if (ctrError.kind === 'cancelled') stop ??= ctrError
        outcomes[index] = {error: ctrError}
      }
      flush()
    }
  }
  const workers = Math.max(1, Math.min(options.concurrency ?? EACH_CONCURRENCY, unique.length))
  await Promise.all(Array.from({length: workers}, worker))
  // Interrupted: what was done is still said, in order, past the IDs never started.
  for (const [index, each] of outcomes.entries()) if (index >= printed && each && 'result' in each) options.onResult?.(each.result, unique[index])
  if (stop) throw stop
  if (options.signal?.aborted) throw toEachError(options.signal.reason)
  const outcome: EachResult<T> = {results: [], failures: []}
  for (const [index, each] of outcomes.entries()) {
    if (each && 'result' in each) outcome.results.push(each.result)
    else if (each) outcome.failures.push({id: unique[index], error: each.error})
  }
  return outcome
}

/** The client converts every gRPC error already; anything else is a bug, reported in one line. */
function toEachError(error: unknown): CtrError {
  return error instanceof CtrError ? error : new CtrError('internal', String((error as Error)?.message ?? error).split('\n')[0], {cause: error})
}

/**
 * One `ctr: <message>` line per failure on stderr, in argument order; the exit code for the run: 0 if none
 * failed, else the worst, which is the highest of the failures' codes (125 for ctr's own failures; 126 and
 * 127 where a process could not be run rank above it, being more specific).
 */
export function reportFailures(failures: EachResult<unknown>['failures'], stream: NodeJS.WriteStream = process.stderr): number {
  for (const {error} of failures) write(`ctr: ${errorText(error)}`, stream)
  return worstExitCode(failures)
}

export function worstExitCode(failures: EachResult<unknown>['failures']): number {
  return failures.reduce((worst, {error}) => Math.max(worst, error.exitCode), 0)
}
