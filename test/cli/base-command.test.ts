import {Args, Errors, Flags, Parser} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {toCtrError} from '../../src/cli/base-command'

/** The error oclif's own parser throws for argv (real errors: their data, not only their text). */
async function parseError(argv: string[], input: Parameters<typeof Parser.parse>[1]): Promise<unknown> {
  try {
    await Parser.parse(argv, input)
  } catch (error) {
    return error
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

const id = Args.string({description: 'container ID', required: true})

describe('toCtrError', () => {
  it.each([
    ['a missing arg', [], {args: {id}}, 'missing argument ID'],
    ['two missing args', [], {args: {id, bundle: Args.string({description: 'OCI bundle directory', required: true})}}, 'missing arguments ID BUNDLE'],
    ['a missing required flag', [], {flags: {id: Flags.string({required: true})}}, 'missing required flag id'],
    ['a bad integer', ['--n', 'abc'], {flags: {n: Flags.integer()}}, 'invalid --n: expected an integer but received: abc'],
    ['an unknown flag', ['--nope'], {flags: {}}, 'unknown flag --nope'],
    ['a surplus argument', ['a', 'b'], {args: {id}}, 'unexpected argument "b"'],
    [
      'a value not among the options',
      ['--shell', 'fish'],
      {flags: {shell: Flags.string({options: ['bash', 'zsh']})}},
      'expected --shell=fish to be one of: bash, zsh',
    ],
    ['a flag without its value', ['--filter'], {flags: {filter: Flags.string()}}, 'flag --filter expects a value'],
  ])('turns oclif parse error for %s into one line with a hint', async (_what, argv, input, expected) => {
    const error = toCtrError(await parseError(argv, input as Parameters<typeof Parser.parse>[1]), 'containers:exec')
    expect(error.kind).toBe('usage')
    expect(error.exitCode).toBe(125)
    expect(error.message).toBe(`${expected} (see 'ctr containers exec --help')`)
  })

  it('suggests the closest flag for a mistyped one', async () => {
    const error = toCtrError(await parseError(['--filtre', 'x'], {flags: {filter: Flags.string()}}), 'containers', ['filter', 'quiet'])
    expect(error.message).toBe("unknown flag --filtre; did you mean --filter? (see 'ctr containers --help')")
  })

  it('keeps a one-line CLIError as it is', () => {
    expect(toCtrError(new Errors.CLIError('Flag --x can only be specified once')).message).toBe('flag --x can only be specified once')
  })

  it('keeps the first line of anything else', () => {
    expect(toCtrError(new Error('boom\nmore')).message).toBe('boom')
  })
})
