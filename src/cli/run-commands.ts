/**
 * The command list oclif loads for one run. oclif builds its command table from the whole list at every
 * start-up and sorts it with String#localeCompare, whose first call creates an ICU collator (6-9 ms of
 * each ctr start-up, docs/performance.md). A run of one known command needs only that command, so oclif is
 * given just it; help, unknown commands, topics that may have a mistyped subcommand and commands that read
 * the command table (`static needsAllCommands = true`: completion) get the whole list.
 */
import type {Command} from '@oclif/core'

import {COMMANDS} from './command-registry'

/** Read by oclif (package.json oclif.commands.identifier, set per run by commandsFor) from dist/cli.js. */
export const RUN_COMMANDS: Record<string, Command.Class> = {}

interface PackageJson {
  oclif: {commands: {identifier: string}}
}

/**
 * The package.json to hand oclif for `args` (normalized: command ID words first): with RUN_COMMANDS as
 * its command list when the run is of one command and cannot need any other.
 */
export function commandsFor<P extends PackageJson>(pjson: P, args: readonly string[]): P {
  if (args.some((arg) => arg === '--help' || arg === '-h')) return pjson
  const found = commandAt(args)
  if (!found || (COMMANDS[found.id as keyof typeof COMMANDS] as {needsAllCommands?: boolean}).needsAllCommands) return pjson
  const next = args[found.words]
  // `ctr containers strat`: a word after a topic may be a mistyped subcommand, which only the whole list reports.
  const isTopic = Object.keys(COMMANDS).some((id) => id.startsWith(`${found.id}:`))
  if (isTopic && next !== undefined && !next.startsWith('-')) return pjson
  for (const key of Object.keys(RUN_COMMANDS)) delete RUN_COMMANDS[key]
  RUN_COMMANDS[found.id] = COMMANDS[found.id as keyof typeof COMMANDS]
  return {...pjson, oclif: {...pjson.oclif, commands: {...pjson.oclif.commands, identifier: 'RUN_COMMANDS'}}}
}

/**
 * How many leading words of `args` name a command (the longest run, at most 3, stopping at a flag), for
 * `isCommand` telling whether `containers:start` is one; 0 if none does.
 */
export function commandWordCount(args: readonly string[], isCommand: (id: string) => boolean): number {
  let count = 0
  for (let k = 1; k <= Math.min(3, args.length); k++) {
    const words = args.slice(0, k)
    if (words.some((w) => w.startsWith('-'))) break
    if (isCommand(words.join(':'))) count = k
  }
  return count
}

/** The command (by ID, aliases resolved) named by the leading words, and how many words. */
function commandAt(args: readonly string[]): {id: string; words: number} | undefined {
  const aliased = (key: string) => {
    const command = COMMANDS[key as keyof typeof COMMANDS] as {aliases?: string[]; hiddenAliases?: string[]}
    return [...(command.aliases ?? []), ...(command.hiddenAliases ?? [])]
  }
  const resolve = (typed: string) => (typed in COMMANDS ? typed : Object.keys(COMMANDS).find((key) => aliased(key).includes(typed)))
  const words = commandWordCount(args, (typed) => resolve(typed) !== undefined)
  const id = words > 0 ? resolve(args.slice(0, words).join(':')) : undefined
  return id ? {id, words} : undefined
}
