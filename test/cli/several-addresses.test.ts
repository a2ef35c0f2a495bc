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
