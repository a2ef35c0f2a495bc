import {describe, expect, it} from 'vitest'

import {positionalArgs} from '../../src/cli/positional-args'

describe('positionalArgs', () => {
  it('keeps the order and repeats oclif would re-sort', () => {
    const raw = [
      {type: 'flag' as const, input: '/tmp'},
      {type: 'arg' as const, input: 'sh'},
      {type: 'arg' as const, input: 'a'},
      {type: 'arg' as const, input: '/tmp'},
      {type: 'arg' as const, input: 'a'},
    ]
    expect(positionalArgs({raw}, '')).toEqual(['sh', 'a', '/tmp', 'a'])
  })

  it('makes an unknown flag a usage error', () => {
    expect(() => positionalArgs({raw: [], nonExistentFlags: ['--bogus']}, ' (hint)')).toThrow('unknown flag --bogus (hint)')
  })
})
