import {describe, expect, it} from 'vitest'

import {normalizeArgv} from '../../src/cli/main'

const ids = new Set(['version', 'containers', 'containers:start', 'containers:exec', 'events'])

describe('normalizeArgv', () => {
  it('moves Go-ctr style leading globals after the command, -a and -n as --address and --namespace', () => {
    expect(normalizeArgv(['-a', '/s.sock', '-n', 'ns', 'containers', 'start', 'x', 'b'], ids)).toEqual([
      'containers',
      'start',
      '--address=/s.sock',
      '--namespace=ns',
      'x',
      'b',
    ])
    expect(normalizeArgv(['--address=/s', '--debug', 'version'], ids)).toEqual(['version', '--address=/s', '--debug'])
  })

  it('leaves -a after the command to the command (attach)', () => {
    expect(normalizeArgv(['containers', 'start', '-a', 'x', 'b'], ids)).toEqual(['containers', 'start', '-a', 'x', 'b'])
  })

  it('keeps a topic listing with an argument-free id', () => {
    expect(normalizeArgv(['-n', 'ns', 'containers', '-q'], ids)).toEqual(['containers', '--namespace=ns', '-q'])
  })

  it('stops at flags it does not own', () => {
    expect(normalizeArgv(['--help', 'containers'], ids)).toEqual(['--help', 'containers'])
  })
})
