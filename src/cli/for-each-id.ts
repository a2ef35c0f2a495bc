/**
 * Verbs on several container IDs (kill, pause, resume) keep going past a failure, report each one, and end
 * non-zero if any failed, as Go ctr's `delete` does. Duplicates are acted on once.
 */
import {CtrError, usageError} from '../lib/containerd/errors'
import {write} from './output/print'

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
  for (const {error} of failures) write(`ctr: ${error.message}`, stream)
  return failures.length === 0 ? 0 : failures[0].error.exitCode
}

/** The parts of oclif's parse result this needs (kept structural so lib/ does not import oclif). */
export interface ParsedTokens {
  raw: ReadonlyArray<{type: string; input: string}>
  nonExistentFlags?: readonly string[]
}

/**
 * Positional arguments in the order given. Commands that take many arguments (strict = false) use this
 * instead of oclif's `argv`, which is re-sorted by first occurrence (so `sh -c 'echo $1' a a b` or a value
 * repeated from a flag would come out reordered); and unknown flags, which oclif lets through silently when
 * not strict, are a usage error here.
 */
export function positionalArgs(parsed: ParsedTokens, commandHint: string): string[] {
  const unknown = parsed.nonExistentFlags ?? []
  if (unknown.length > 0) throw usageError(`unknown flag ${unknown[0]}${commandHint}`)
  return parsed.raw.filter((token) => token.type === 'arg').map((token) => token.input)
}
