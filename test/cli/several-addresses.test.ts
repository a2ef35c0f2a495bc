import {describe, expect, it} from 'vitest'

import {normalizeArgv} from '../../src/cli/main'

const commands = {containers: {}, version: {}}

describe('normalizeArgv: -a repeated before the command', () => {
  it('joins the addresses into one comma-separated --address (oclif takes a flag once)', () => {
    expect(normalizeArgv(['-a', 'ssh://n1', '--address=ssh://n2', '-n', 'k8s.io', '-a', '/run/x.sock', 'containers'], commands)).toEqual([
      'containers',
      '--address=ssh://n1,ssh://n2,/run/x.sock',
      '--namespace=k8s.io',
    ])
  })
})

describe('normalizeArgv: --address repeated after the command', () => {
  const shapes = {containers: {}, 'containers:exec': {flags: {id: {type: 'option'}}, programAfter: 0}}

  it('joins them with those before it, where the first was', () => {
    expect(normalizeArgv(['-a', '/a.sock', 'containers', '--json', '--address', '/b.sock', '--address=/c.sock'], shapes)).toEqual([
      'containers',
      '--address=/a.sock,/b.sock,/c.sock',
      '--json',
    ])
    expect(normalizeArgv(['containers', '--address=/b.sock', '--json', '--address', '/c.sock'], shapes)).toEqual([
      'containers',
      '--address=/b.sock,/c.sock',
      '--json',
    ])
  })

  it("leaves one --address, -a after the command, and a program's own arguments alone", () => {
    expect(normalizeArgv(['containers', '--address', '/b.sock'], shapes)).toEqual(['containers', '--address', '/b.sock'])
    expect(normalizeArgv(['containers', 'exec', '--id', 'x', 'app', '--address', '/p', '--address', '/q'], shapes)).toEqual([
      'containers',
      'exec',
      '--id',
      'x',
      '--',
      'app',
      '--address',
      '/p',
      '--address',
      '/q',
    ])
  })
})
