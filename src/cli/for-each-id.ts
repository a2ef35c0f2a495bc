/**
 * Verbs on several container IDs (kill, pause, resume) keep going past a failure, report each one, and end
 * non-zero if any failed, as Go ctr's `delete` does. Duplicates are acted on once.
 */
import {CtrError} from '../lib/containerd/errors'
import {errorText} from './error-text'
import {write} from './output/streams'

export interface EachResult<T> {
  results: T[]
  failures: Array<{id: string; error: CtrError}>
}

/** Runs fn for each distinct ID in turn (in order, so output and daemon load are predictable). */
export async function forEachId<T>(ids: readonly string[], fn: (id: string) => Promise<T>): Promise<EachResult<T>> {
  const outcome: EachResult<T> = {results: [], failures: []}
  for (const id of new Set(ids)) {
    try {
      outcome.results.push(await fn(id))
    } catch (error) {
      // The client converts every gRPC error already; anything else is a bug, reported in one line.
      const ctrError = error instanceof CtrError ? error : new CtrError('internal', String((error as Error)?.message ?? error).split('\n')[0], {cause: error})
      // An interrupt stops the whole run rather than being reported once per remaining ID.
      if (ctrError.kind === 'cancelled') throw ctrError
      outcome.failures.push({id, error: ctrError})
    }
  }
  return outcome
}

/** One `ctr: <message>` line per failure on stderr; the exit code for the run (0 if none failed). */
export function reportFailures(failures: EachResult<unknown>['failures'], stream: NodeJS.WriteStream = process.stderr): number {
  for (const {error} of failures) write(`ctr: ${errorText(error)}`, stream)
  return failures.length === 0 ? 0 : failures[0].error.exitCode
}
