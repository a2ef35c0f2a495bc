/**
 * Running the CLI: oclif with an explicit command list (no filesystem scan at start-up), plus the
 * argv habits of Go ctr scripts that oclif does not have by itself.
 */
import {Errors, run as oclifRun, flush, settings} from '@oclif/core'
import {join} from 'node:path'

import {EXIT} from '../lib/containerd/errors'
import {COMMANDS} from './command-registry'
import {escapeText} from './output/escape'
import {guardOutput} from './output/print'
import {commandsFor} from './run-commands'
import {suggestCommand} from './suggest'

/** Flags accepted before the command (Go ctr: `ctr -a SOCK -n NS containers`) and where they go. */
const LEADING_VALUE_FLAGS: Record<string, string> = {
  '-a': '--address',
  '--address': '--address',
  '-n': '--namespace',
  '--namespace': '--namespace',
  '--timeout': '--timeout',
}
const LEADING_BOOLEAN_FLAGS = new Set(['--debug'])

/**
 * Moves global flags given before the command to just after the command ID, where oclif parses them.
 * `-a` and `-n` before the command are --address and --namespace; after it, `-a` is the command's own.
 */
export function normalizeArgv(argv: readonly string[], commandIds: ReadonlySet<string>): string[] {
  const leading: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    const token = argv[i]
    if (!token.startsWith('-') || token === '--') break
    const eq = token.indexOf('=')
    const name = eq > 0 ? token.slice(0, eq) : token
    if (LEADING_BOOLEAN_FLAGS.has(name)) {
      leading.push(token)
    } else if (LEADING_VALUE_FLAGS[name]) {
      const value = eq > 0 ? token.slice(eq + 1) : argv[++i]
      if (value === undefined) leading.push(LEADING_VALUE_FLAGS[name])
      else leading.push(`${LEADING_VALUE_FLAGS[name]}=${value}`)
    } else {
      break // --help, --version and anything else: leave the rest to oclif
    }
  }
  const rest = argv.slice(i)
  let idLength = 0
  for (let k = 1; k <= Math.min(3, rest.length); k++) {
    const words = rest.slice(0, k)
    if (words.some((w) => w.startsWith('-'))) break
    if (commandIds.has(words.join(':'))) idLength = k
  }
  return [...rest.slice(0, idLength), ...leading, ...rest.slice(idLength)]
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
  const ids = new Set(Object.keys(COMMANDS))
  for (const command of Object.values(COMMANDS)) for (const alias of command.aliases ?? []) ids.add(alias)
  // `ctr help containers start` as Go ctr and git have it: oclif's help command lives in a plugin we do not load.
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help']
  try {
    const args = normalizeArgv(argv, ids)
    await oclifRun(args, {
      root: ROOT,
      // package.json as the build bundled it: oclif then neither searches for the package root nor reads it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pjson: commandsFor(require('../../package.json'), args),
      userPlugins: false, // no user plugins: and no warning when $HOME is unreadable
    })
  } catch (error) {
    // Errors from before a command runs (unknown command, help failures): one line, ctr's exit code.
    if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit
    } else {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
      process.stderr.write(`ctr: ${escapeText(withSuggestion(message, ids))}\n`)
      if (argv.includes('--debug') && error instanceof Error) process.stderr.write(`${error.stack}\n`)
      process.exitCode = EXIT.failure
    }
  }
  await flush()
}

/** `command contaners not found` → `command contaners not found; did you mean "containers"?` */
function withSuggestion(message: string, ids: ReadonlySet<string>): string {
  const notFound = /^command (\S+) not found\.?$/i.exec(message)
  if (!notFound) return message
  const typed = notFound[1].replaceAll(':', ' ')
  const suggestion = suggestCommand(notFound[1], ids)
  // oclif folds surplus words into the ID (`events extra` → events:extra): the command is right, the words are not.
  if (suggestion && typed.startsWith(`${suggestion} `)) {
    const extra = typed.slice(suggestion.length + 1).split(' ')
    return `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => `"${w}"`).join(' ')} for ${suggestion} (see 'ctr ${suggestion} --help')`
  }
  return `command ${typed} not found${suggestion ? `; did you mean "${suggestion}"?` : ` (see 'ctr --help')`}`
}
