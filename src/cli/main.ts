/**
 * Running the CLI: oclif with an explicit command list (no filesystem scan at start-up), plus the
 * argv habits of Go ctr scripts that oclif does not have by itself.
 */
import {Errors, run as oclifRun, flush, settings} from '@oclif/core'
import {join} from 'node:path'

import {CtrError, EXIT, usageError} from '../lib/containerd/errors'
import {BaseCommand} from './base-command'
import {COMMANDS} from './command-registry'
import {errorText} from './error-text'
import {escapeText} from './output/escape'
import {guardOutput} from './output/streams'
import {commandsFor, commandWordCount} from './run-commands'
import {closest, suggestCommand} from './suggest'

/** Global flags accepted before the command (Go ctr: `ctr -a SOCK -n NS containers`) and where they go. */
const LEADING_VALUE_FLAGS: Record<string, string> = {
  '-a': '--address',
  '--address': '--address',
  '-n': '--namespace',
  '--namespace': '--namespace',
  '--timeout': '--timeout',
  '--call-timeout': '--call-timeout',
  '--connect-timeout': '--connect-timeout',
}
const LEADING_BOOLEAN_FLAGS = new Set(['--debug'])

/** What normalizeArgv needs to know of a command: its flags, and where its program's arguments begin. */
export interface CommandShape {
  flags?: Record<string, {type: string; char?: string}>
  baseFlags?: Record<string, {type: string; char?: string}>
  /**
   * The command runs a program given on its command line (exec: `CMD [ARG...]`; start: `ID BUNDLE
   * [CMD...]`): the number of ctr's own positional arguments before it. From the program on, every word
   * (`-a`, `-c`, `-h`) is the program's.
   */
  programAfter?: number
}

/**
 * Prepares argv for oclif:
 * - global flags before the command move to just after the command ID, where oclif parses them (`-a` and `-n`
 *   before the command are --address and --namespace; after it, `-a` is the command's own);
 * - `-h` among ctr's own flags is --help;
 * - for commands that run a program, `--` goes in before the program's first word, so its flags stay its own.
 * Usage errors in the leading global flags are thrown here, naming the flag as typed.
 */
export function normalizeArgv(argv: readonly string[], commands: Readonly<Record<string, CommandShape>>): string[] {
  const leading: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    const token = argv[i]
    if (!token.startsWith('-') || token === '--') break
    if (token === '-h' || token === '--help') return ['--help']
    const eq = token.indexOf('=')
    const name = eq > 0 ? token.slice(0, eq) : token
    if (LEADING_BOOLEAN_FLAGS.has(name)) {
      leading.push(token)
    } else if (LEADING_VALUE_FLAGS[name]) {
      const value = eq > 0 ? token.slice(eq + 1) : argv[++i]
      if (value === undefined) throw usageError(`${name} needs a value (see 'ctr --help')`)
      // -a repeated (several nodes) is joined with any other --address by joinAddresses.
      leading.push(`${LEADING_VALUE_FLAGS[name]}=${value}`)
    } else {
      const known = [...Object.keys(LEADING_VALUE_FLAGS), ...LEADING_BOOLEAN_FLAGS].filter((f) => f.startsWith('--'))
      const suggestion = closest(name, known)
      throw usageError(`unknown global flag ${name}${suggestion ? `; did you mean ${suggestion}?` : ''} (see 'ctr --help')`)
    }
  }
  const rest = argv.slice(i)
  // `ctr -n x` alone: what Go ctr does without a command, the help.
  if (rest.length === 0) return ['--help']
  const idLength = commandWordCount(rest, (id) => Boolean(commands[id]))
  // No such command: oclif names the first word; the globals go after it so they are not taken for it.
  if (idLength === 0) return [...rest, ...leading]
  const command = commands[rest.slice(0, idLength).join(':')]
  return joinAddresses([...rest.slice(0, idLength), ...leading, ...commandArgv(rest.slice(idLength), command)])
}

/**
 * --address given more than once, before or after the command (several nodes): one comma-separated
 * --address where the first was, as oclif takes a flag once. Only the long form: after the command, `-a` is
 * the command's own. Nothing after `--` (a program's arguments) is looked at.
 */
function joinAddresses(argv: string[]): string[] {
  const end = argv.indexOf('--')
  const head = end < 0 ? argv : argv.slice(0, end)
  const values: string[] = []
  const kept: string[] = []
  let first = -1
  for (let i = 0; i < head.length; i++) {
    const token = head[i]
    if (token !== '--address' && !token.startsWith('--address=')) {
      kept.push(token)
      continue
    }
    const value = token === '--address' ? head[++i] : token.slice('--address='.length)
    if (value === undefined) return argv // oclif says what is missing
    if (first < 0) first = kept.length
    values.push(value)
  }
  if (values.length < 2) return argv
  kept.splice(first, 0, `--address=${values.join(',')}`)
  return end < 0 ? kept : [...kept, ...argv.slice(end)]
}

/** The command's own words: `-h` → --help, and `--` before a program's first word (see CommandShape). */
function commandArgv(tokens: readonly string[], command: CommandShape): string[] {
  const flags = {...command.baseFlags, ...command.flags}
  const byChar = new Map(
    Object.values(flags)
      .filter((f) => f.char)
      .map((f) => [f.char!, f]),
  )
  const out: string[] = []
  let positionals = 0
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (token === '--') return [...out, ...tokens.slice(i)]
    if (token.startsWith('-') && token.length > 1) {
      if (token === '-h' && !byChar.has('h')) {
        out.push('--help')
        continue
      }
      out.push(token)
      // A flag that takes a value, given as a separate word: that word is the value, not a positional.
      const flag = token.startsWith('--') ? (token.includes('=') ? undefined : flags[token.slice(2)]) : token.length === 2 ? byChar.get(token[1]) : undefined
      if (flag?.type === 'option' && i + 1 < tokens.length) out.push(tokens[++i])
      continue
    }
    if (command.programAfter !== undefined && positionals === command.programAfter) return [...out, '--', ...tokens.slice(i)]
    positionals++
    out.push(token)
  }
  return out
}

/** The package root: main runs from the bundle, dist/cli.js. */
const ROOT = join(__dirname, '..')

export async function main(argv: string[]): Promise<void> {
  guardOutput() // a closed pipe or a full disk on stdout: one line and an exit code, never a crash
  if (argv[0] === '--version' || argv[0] === '-v') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.stdout.write(`ctr ${require('../../package.json').version}\n`)
    return
  }
  // ctr runs compiled code only. Without this, NODE_ENV=test/development (vitest sets it for the CLIs the
  // tests spawn) makes oclif load typescript and look for ts-node on every start (≈200 ms).
  settings.enableAutoTranspile = false
  // Suggestions come from the IDs and visible aliases; Go ctr's names (hidden aliases) run but are not offered.
  const ids = new Set(Object.keys(COMMANDS))
  for (const command of Object.values(COMMANDS)) for (const alias of command.aliases ?? []) ids.add(alias)
  // `ctr help containers start` as Go ctr and git have it: oclif's help command lives in a plugin we do not load.
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help']
  let args = argv
  try {
    args = normalizeArgv(argv, commandShapes())
    if (args.length === 1 && args[0] === '--help') {
      process.stdout.write(rootHelp())
      return
    }
    await oclifRun(args, {
      root: ROOT,
      // package.json as the build bundled it: oclif then neither searches for the package root nor reads it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pjson: commandsFor(require('../../package.json'), args),
      userPlugins: false, // no user plugins: and no warning when $HOME is unreadable
    })
  } catch (error) {
    // Errors from before a command runs (unknown command, help failures): one line, ctr's exit code.
    if (error instanceof CtrError) {
      process.stderr.write(`ctr: ${errorText(error)}\n`)
      process.exitCode = error.exitCode
    } else if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit
    } else {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
      process.stderr.write(`ctr: ${escapeText(withSuggestion(message, ids, args))}\n`)
      if (argv.includes('--debug') && error instanceof Error) process.stderr.write(`${error.stack}\n`)
      process.exitCode = EXIT.failure
    }
  }
  await flush()
}

/**
 * `ctr --help`: oclif's root help lists a topic that is also a command twice (TOPICS and COMMANDS, with
 * different descriptions) and no global flags. One line per command, topics' commands under them.
 */
export function rootHelp(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pjson = require('../../package.json') as {description: string; version: string}
  const summary = (id: string) => String((COMMANDS as Record<string, {description?: string}>)[id].description ?? '').split('\n')[0]
  const ids = visibleCommandIds(Object.keys(COMMANDS)).sort()
  const rows = ids.map((id) => [id.replaceAll(':', ' '), summary(id)] as const)
  const width = Math.max(...rows.map(([name]) => name.length)) + 3
  const base = BaseCommand.baseFlags as Record<string, {char?: string; description?: string; env?: string}>
  const flagRows = Object.entries(base).map(
    ([name, flag]) =>
      [
        `${flag.char ? `-${flag.char}, ` : name === 'address' ? '-a, ' : '    '}--${name}`,
        `${flag.description ?? ''}${flag.env ? ` [env: ${flag.env}]` : ''}`,
      ] as const,
  )
  const flagWidth = Math.max(...flagRows.map(([name]) => name.length)) + 3
  return [
    `${pjson.description}`,
    '',
    'USAGE',
    '  $ ctr [GLOBAL FLAGS] COMMAND [FLAGS] [ARGS]',
    '',
    'COMMANDS',
    ...rows.map(([name, text]) => `  ${name.padEnd(width)}${text}`),
    '',
    'GLOBAL FLAGS (before or after the command)',
    ...flagRows.map(([name, text]) => `  ${name.padEnd(flagWidth)}${text}`),
    `  ${'-h, --help'.padEnd(flagWidth)}show help (also: ctr help COMMAND, ctr COMMAND -h)`,
    `  ${'-v, --version'.padEnd(flagWidth)}print the version (ctr version also asks containerd)`,
    '',
    `See 'ctr COMMAND --help' for a command's flags and examples.`,
    '',
  ].join('\n')
}

/** Every command and alias (hidden ones too) by ID, with what normalizeArgv reads of it. */
function commandShapes(): Record<string, CommandShape> {
  const shapes: Record<string, CommandShape> = {}
  for (const [id, command] of Object.entries(COMMANDS) as Array<[string, CommandShape & {aliases?: string[]; hiddenAliases?: string[]}]>) {
    shapes[id] = command
    for (const alias of [...(command.aliases ?? []), ...(command.hiddenAliases ?? [])]) shapes[alias] = command
  }
  return shapes
}

/** Hidden commands (Go's `tasks`, kept for its scripts) are neither listed nor suggested. */
function visibleCommandIds(ids: Iterable<string>): string[] {
  return [...ids].filter((id) => !(COMMANDS as Record<string, {hidden?: boolean}>)[id]?.hidden)
}

/**
 * `command contaners not found` → `command "contaners" not found; did you mean "containers"?`. oclif's ID has
 * every leading word joined by ':' (the arguments too); the message names the words as typed (`args`, a ':'
 * in them kept), up to the first that is no command or topic, not the arguments after it.
 */
function withSuggestion(message: string, ids: ReadonlySet<string>, args: readonly string[]): string {
  const notFound = /^command (\S+) not found\.?$/i.exec(message)
  if (!notFound) return message
  const end = args.findIndex((word) => word.startsWith('-'))
  const words = args.slice(0, end < 0 ? args.length : end)
  const suggestion = suggestCommand(notFound[1], visibleCommandIds(ids))
  // oclif folds surplus words into the ID (`events extra` → events:extra): the command is right, the words are not.
  const length = suggestion?.split(' ').length ?? 0
  if (suggestion && words.length > length && words.slice(0, length).join(' ') === suggestion) {
    const extra = words.slice(length)
    return `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => `"${w}"`).join(' ')} for ${suggestion} (see 'ctr ${suggestion} --help')`
  }
  const known = new Set([...ids].flatMap((id) => id.split(':').map((_, k, parts) => parts.slice(0, k + 1).join(':'))))
  let k = 0
  while (k < words.length - 1 && known.has(words.slice(0, k + 1).join(':'))) k++
  const typed = words.slice(0, k + 1).join(' ')
  return `command "${typed}" not found${suggestion ? `; did you mean "${suggestion}"?` : ` (see 'ctr --help')`}`
}
