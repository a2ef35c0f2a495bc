/**
 * Positional arguments for commands that take many of them (strict = false), read from oclif's parse result.
 */
import type {Interfaces} from '@oclif/core'

import {usageError} from '../lib/containerd/errors'

/** The parts of oclif's parse result positionalArgs reads. */
export type ParsedTokens = {
  raw: ReadonlyArray<Pick<Interfaces.ParserOutput['raw'][number], 'type' | 'input'>>
  nonExistentFlags?: Interfaces.ParserOutput['nonExistentFlags']
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
