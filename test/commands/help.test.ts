/**
 * Help that teaches, held for every command in the registry, as the built CLI (dist/cli.js, through oclif's
 * own metadata) shows it: a description, examples (the seed README's usage lines among them), a
 * description for every flag and argument; `ctr help TOPIC` and `ctr TOPIC --help` list the topic.
 * A command added later is checked without anyone editing this file.
 */
import {Config, type Command} from '@oclif/core'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../helpers/run-cli'

const ROOT = join(__dirname, '..', '..')

/**
 * The command surface the project promises. A missing one fails here on purpose (until its engineer
 * registers it in src/cli/command-registry.ts).
 */
const EXPECTED_COMMANDS = [
  'checkpoints',
  'checkpoints:create',
  'checkpoints:delete',
  'completion',
  'containers',
  'containers:delete',
  'containers:exec',
  'containers:kill',
  'containers:pause',
  'containers:ps',
  'containers:resume',
  'containers:start',
  'containers:stats',
  'events',
  'version',
]

/** The seed README's (containerd 0.0.4) usage lines, each among its command's examples. */
const SEED_EXAMPLES: Record<string, RegExp> = {
  containers: /^ctr containers$/,
  'containers:start': /^ctr containers start redis \/containers\/redis$/,
  'containers:kill': /^ctr containers kill (.+ )?-s 9 (.+ )?redis$/,
  'containers:exec': /^ctr containers exec --id redis /,
  'containers:stats': /^ctr containers stats redis$/,
  checkpoints: /^ctr checkpoints redis$/,
  'checkpoints:create': /^ctr checkpoints create redis test$/,
  events: /^ctr events$/,
}

let config: Config
let commands: Command.Loadable[]

const render = (example: string | {command: string}) => (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'ctr')

beforeAll(async () => {
  config = await Config.load(ROOT)
  // Aliases appear as commands of their own; check each command once.
  commands = config.commands.filter((c) => !c.aliases.includes(c.id) && !c.hidden)
})

describe('the command registry (dist/cli.js)', () => {
  it('has every command the project promises', () => {
    const ids = commands.map((c) => c.id)
    const missing = EXPECTED_COMMANDS.filter((id) => !ids.includes(id))
    expect(missing, `not registered in src/cli/command-registry.ts: ${missing.join(', ')}`).toEqual([])
  })

  it('gives every command a description with a short first line, and examples', () => {
    const problems: string[] = []
    for (const command of commands) {
      const first = (command.description ?? '').split('\n')[0].trim()
      if (!first) problems.push(`${command.id}: no description`)
      else if (first.length > 100) problems.push(`${command.id}: first description line longer than 100 characters`)
      const examples = (command.examples ?? []).map(render)
      if (examples.length === 0) problems.push(`${command.id}: no examples`)
      for (const example of examples) {
        const invocation = example.replace(/^source <\(|^\S+=\S+ /, '')
        const names = [command.id, ...command.aliases].map((id) => `ctr ${id.replaceAll(':', ' ')}`)
        if (!names.some((name) => invocation === name || invocation.startsWith(`${name} `)) && !invocation.startsWith('ctr -')) {
          problems.push(`${command.id}: example does not run the command: ${example}`)
        }
      }
    }
    expect(problems).toEqual([])
  })

  it("includes the seed README's usage lines among the examples", () => {
    const problems: string[] = []
    for (const [id, line] of Object.entries(SEED_EXAMPLES)) {
      const command = commands.find((c) => c.id === id)
      if (!command) problems.push(`${id}: not registered`)
      else if (!(command.examples ?? []).map(render).some((e) => line.test(e))) problems.push(`${id}: no example matching ${line}`)
    }
    expect(problems).toEqual([])
  })

  it('describes every flag and argument', () => {
    const problems: string[] = []
    for (const command of commands) {
      for (const [name, flag] of Object.entries(command.flags ?? {})) {
        if (!flag.hidden && !(flag.summary ?? flag.description)?.trim()) problems.push(`${command.id}: flag --${name} has no description`)
      }
      for (const [name, arg] of Object.entries(command.args ?? {})) {
        if (!arg.description?.trim()) problems.push(`${command.id}: argument ${name} has no description`)
      }
    }
    expect(problems).toEqual([])
  })
})

describe('help as printed', () => {
  it('ctr --help lists the topics and top-level commands', async () => {
    const result = await runCli(['--help'])
    expect(result.code, result.stderr).toBe(0)
    for (const word of ['containers', 'checkpoints', 'events', 'version', 'completion']) expect(result.stdout).toMatch(new RegExp(`^  ${word}\\b`, 'm'))
  })

  it.each([
    ['help', 'containers'],
    ['containers', '--help'],
  ])('ctr %s %s lists every containers command', async (...args) => {
    const result = await runCli(args)
    expect(result.code, result.stderr).toBe(0)
    const subcommands = commands.filter((c) => c.id.startsWith('containers:'))
    expect(subcommands.length).toBeGreaterThan(0)
    for (const command of subcommands) expect(result.stdout).toContain(command.id.replaceAll(':', ' '))
  })

  it('every command --help shows its description, flags and examples, exit 0', async () => {
    for (const command of commands) {
      const result = await runCli([...command.id.split(':'), '--help'])
      expect(result.code, `${command.id}: ${result.stderr}`).toBe(0)
      expect(result.stdout).toContain((command.description ?? '').split('\n')[0].trim().slice(0, 60))
      expect(result.stdout, command.id).toContain('EXAMPLES')
      expect(result.stdout, command.id).toContain(render(command.examples![0]))
    }
  })

  it('ctr help CMD is CMD --help', async () => {
    const viaHelp = await runCli(['help', 'containers', 'kill'])
    const viaFlag = await runCli(['containers', 'kill', '--help'])
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
  })

  it('a mistyped command suggests the right one, exit 125', async () => {
    const result = await runCli(['contaners'])
    expect(result.code).toBe(125)
    expect(result.stderr).toBe('ctr: command "contaners" not found; did you mean "containers"?\n')
    const nested = await runCli(['containers', 'strat', 'redis'])
    expect(nested.code).toBe(125)
    expect(nested.stderr).toMatch(/did you mean "containers start"\?/)
    // The right command with surplus words is not a typo.
    const surplus = await runCli(['version', 'extra'])
    expect(surplus.code).toBe(125)
    expect(surplus.stderr).toBe(`ctr: unexpected argument "extra" for version (see 'ctr version --help')\n`)
    const help = await runCli(['help', 'evnts'])
    expect(help.code).toBe(125)
    expect(help.stderr).toMatch(/did you mean "events"\?/)
  })
})
