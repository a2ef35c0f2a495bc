import {Parser} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {toCtrError} from '../../src/cli/base-command'
import {errorText} from '../../src/cli/error-text'
import {durationFlag, userFlag, userIdFlag} from '../../src/cli/flag-types'

const flags = {timeout: durationFlag(), uid: userIdFlag(), user: userFlag()}

async function parseError(argv: string[]): Promise<unknown> {
  try {
    await Parser.parse(argv, {flags})
  } catch (error) {
    return error
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

describe('flag types (Flags.custom)', () => {
  it('give the command the value, parsed by oclif', async () => {
    const {flags: parsed} = await Parser.parse(['--timeout', '1m30s', '--uid', '1000', '--user', 'app:staff'], {flags})
    expect(parsed).toEqual({timeout: {ms: 90_000, text: '1m30s'}, uid: 1000, user: {user: 'app', group: 'staff'}})
  })

  it.each([
    [['--timeout', '10 parsecs'], 'invalid --timeout "10 parsecs": expected a duration such as 500ms, 10s or 1m30s'],
    [['--uid', '-1'], 'invalid --uid "-1": must be a non-negative integer'],
    [['--user', 'a:b:c'], 'invalid --user "a:b:c": use UID, NAME, UID:GID or NAME:GROUP'],
  ])('a refused value %j is our one line, whatever oclif does to the message', async (argv, expected) => {
    const error = toCtrError(await parseError(argv), 'containers:exec')
    expect(error.kind).toBe('usage')
    expect(error.exitCode).toBe(125)
    expect(errorText(error)).toBe(expected) // as ctr prints it: a library option named as its flag
  })
})
