import {Errors} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {toCtrError} from '../../src/cli/base-command'

const cli = (message: string) => new Errors.CLIError(message)

describe('toCtrError', () => {
  it.each([
    ['Missing 1 required arg:\nid  container ID\nSee more help with --help', 'Missing 1 required arg: id'],
    ['The following error occurred:\n  Missing required flag id\nSee more help with --help', 'Missing required flag id'],
    ['Parsing --n \n\tExpected an integer but received: abc\nSee more help with --help', 'Parsing --n Expected an integer but received: abc'],
    ['Nonexistent flag: --nope\nSee more help with --help', 'Nonexistent flag: --nope'],
  ])('turns oclif parse error %j into one line with a hint', (message, expected) => {
    const error = toCtrError(cli(message), 'containers:exec')
    expect(error.kind).toBe('usage')
    expect(error.exitCode).toBe(125)
    expect(error.message).toBe(`${expected} (see 'ctr containers exec --help')`)
  })

  it('keeps the first line of anything else', () => {
    expect(toCtrError(new Error('boom\nmore')).message).toBe('boom')
  })
})
