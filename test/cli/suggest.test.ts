import {describe, expect, it} from 'vitest'

import {closest, editDistance, suggestCommand} from '../../src/cli/suggest'

const ids = ['containers', 'containers:start', 'containers:stats', 'containers:kill', 'containers:ls', 'checkpoints', 'checkpoints:create', 'events', 'version']

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps', () => {
    expect(editDistance('containers', 'containers')).toBe(0)
    expect(editDistance('contaners', 'containers')).toBe(1)
    expect(editDistance('cnotainers', 'containers')).toBe(1)
    expect(editDistance('evnets', 'events')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
  })
})

describe('suggestCommand', () => {
  it('suggests the closest top-level command', () => {
    expect(suggestCommand('contaners', ids)).toBe('containers')
    expect(suggestCommand('evnts', ids)).toBe('events')
    expect(suggestCommand('verison', ids)).toBe('version')
    expect(suggestCommand('checkpoint', ids)).toBe('checkpoints')
  })

  it('suggests within the topic the user got right', () => {
    expect(suggestCommand('containers:strt', ids)).toBe('containers start')
    expect(suggestCommand('containers:kil', ids)).toBe('containers kill')
    expect(suggestCommand('checkpoints:craete', ids)).toBe('checkpoints create')
    // oclif folds arguments into the ID it could not find.
    expect(suggestCommand('containers:strat:redis:/containers/redis', ids)).toBe('containers start')
    expect(suggestCommand('contaners:ls', ids)).toBe('containers ls')
  })

  it('stays quiet when nothing is close', () => {
    expect(suggestCommand('xyzzy', ids)).toBeUndefined()
    expect(suggestCommand('run', ids)).toBeUndefined()
    expect(closest('a', ['containers'])).toBeUndefined()
  })
})
