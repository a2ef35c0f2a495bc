/**
 * Value types of ctr's flags, as oclif's Flags.custom: checked when oclif parses the flag (also from its
 * environment variable), so a command gets the value, not text to parse again.
 */
import {Flags} from '@oclif/core'

import {CtrError, usageError} from '../lib/containerd/errors'
import {parseUserSpec, type UserSpec} from '../lib/tasks/users'
import {parseDuration} from './duration'
import type {PortMapping} from '../lib/network/cni'
import {parsePublish} from '../lib/network/ports'

/** A duration flag's value: milliseconds, and the text as given (for messages such as `--timeout 3s reached`). */
export interface Duration {
  ms: number
  text: string
}

/**
 * A flag value refused at parse time. oclif's parser rewrites the message of whatever a flag's parse throws
 * ("Parsing --x" + it + a help pointer, lib/parser/parse.js); the one-line CtrError is kept here, and
 * toCtrError (base-command.ts) takes it by type.
 */
export class FlagValueError extends Error {
  constructor(readonly error: CtrError) {
    super(error.message)
    this.name = 'FlagValueError'
  }
}

/** Runs a flag's value parser; its CtrError survives oclif's rewording (FlagValueError). */
export function flagValue<T>(parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw error instanceof CtrError ? new FlagValueError(error) : error
  }
}

/** A Go-style duration (parseDuration), checked when oclif parses the flag (also from its env variable). */
export const durationFlag = Flags.custom<Duration>({
  parse: async (input, _context, flag) => flagValue(() => ({ms: parseDuration(input, `--${flag.name}`), text: input})),
})

/** A non-negative integer ID (a UID or GID), checked when oclif parses the flag. */
export const userIdFlag = Flags.custom<number>({
  parse: async (input, _context, flag) =>
    flagValue(() => {
      if (!/^\d+$/.test(input.trim())) throw usageError(`invalid --${flag.name} "${input}": must be a non-negative integer`)
      return Number(input.trim())
    }),
})

/** `-u`: a user and group as names or IDs (`1000`, `app:staff`), resolved later in the container. */
export const userFlag = Flags.custom<UserSpec>({
  parse: async (input) => flagValue(() => parseUserSpec(input)),
})

/** `-p`: a published port, `[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]`, checked when oclif parses the flag. */
export const publishFlag = Flags.custom<PortMapping>({
  parse: async (input) => flagValue(() => parsePublish(input)),
})

/** `stop`'s and `restart`'s -t/--time: the grace period before SIGKILL, in docker's seconds or a duration. */
export const stopTimeFlag = (defaultMs: number) =>
  durationFlag({
    char: 't',
    description: `grace period before SIGKILL: seconds or a duration (500ms, 1m) [default: ${defaultMs / 1000}]`,
    helpValue: 'SECONDS',
  })
