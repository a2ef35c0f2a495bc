import {describe, expect, it} from 'vitest'

import {type CommandShape, normalizeArgv} from '../../src/cli/main'

const flag = (type: string, char?: string) => ({type, char})
const base = {namespace: flag('option', 'n'), address: flag('option'), timeout: flag('option')}
const commands: Record<string, CommandShape> = {
  version: {baseFlags: base},
  containers: {baseFlags: base, flags: {filter: flag('option', 'f')}},
  'containers:start': {baseFlags: base, flags: {attach: flag('boolean', 'a'), tty: flag('boolean', 't')}, programAfter: 2},
  'containers:exec': {
    baseFlags: base,
    flags: {attach: flag('boolean', 'a'), id: flag('option'), env: flag('option', 'e'), tty: flag('boolean', 't')},
    programAfter: 0,
  },
  events: {baseFlags: base},
}

describe('normalizeArgv', () => {
  it('moves Go-ctr style leading globals after the command, -a and -n as --address and --namespace', () => {
    expect(normalizeArgv(['-a', '/s.sock', '-n', 'ns', 'containers', 'start', 'x', 'b'], commands)).toEqual([
      'containers',
      'start',
      '--address=/s.sock',
      '--namespace=ns',
      'x',
      'b',
    ])
    expect(normalizeArgv(['--address=/s', '--debug', 'version'], commands)).toEqual(['version', '--address=/s', '--debug'])
  })

  it('leaves -a after the command to the command (attach)', () => {
    expect(normalizeArgv(['containers', 'start', '-a', 'x', 'b'], commands)).toEqual(['containers', 'start', '-a', 'x', 'b'])
  })

  it('keeps a topic listing with an argument-free id', () => {
    expect(normalizeArgv(['-n', 'ns', 'containers', '-q'], commands)).toEqual(['containers', '--namespace=ns', '-q'])
  })

  it('-h is --help, before or after the command', () => {
    expect(normalizeArgv(['-h'], commands)).toEqual(['--help'])
    expect(normalizeArgv(['--help', 'containers'], commands)).toEqual(['--help'])
    expect(normalizeArgv(['containers', '-h'], commands)).toEqual(['containers', '--help'])
  })

  it("the program's words are the program's: -- goes in before its first word", () => {
    expect(normalizeArgv(['containers', 'exec', '--id', 'w2', '-a', 'echo', '-n', 'hi'], commands)).toEqual([
      'containers',
      'exec',
      '--id',
      'w2',
      '-a',
      '--',
      'echo',
      '-n',
      'hi',
    ])
    expect(normalizeArgv(['containers', 'exec', '-e', 'A=1', '--id=w', 'sh', '-c', 'x', '-h'], commands)).toEqual([
      'containers',
      'exec',
      '-e',
      'A=1',
      '--id=w',
      '--',
      'sh',
      '-c',
      'x',
      '-h',
    ])
    expect(normalizeArgv(['containers', 'exec', '--id', 'w', '--', 'ls', '-a'], commands)).toEqual(['containers', 'exec', '--id', 'w', '--', 'ls', '-a'])
    expect(normalizeArgv(['containers', 'start', '-a', 'x', 'b', 'sh', '-c', 'echo'], commands)).toEqual([
      'containers',
      'start',
      '-a',
      'x',
      'b',
      '--',
      'sh',
      '-c',
      'echo',
    ])
  })

  it('global-flag mistakes name the flag; globals alone print help', () => {
    expect(() => normalizeArgv(['-n'], commands)).toThrow('-n needs a value')
    expect(() => normalizeArgv(['-n', 'k8s.io', '--bogus', 'containers'], commands)).toThrow('unknown global flag --bogus')
    expect(() => normalizeArgv(['--namspace', 'x', 'containers'], commands)).toThrow('did you mean --namespace?')
    expect(normalizeArgv(['-n', 'x'], commands)).toEqual(['--help'])
    expect(normalizeArgv(['-a', 'S', '--connect-timeout', '2s', 'containers'], commands)).toEqual(['containers', '--address=S', '--connect-timeout=2s'])
  })
})
