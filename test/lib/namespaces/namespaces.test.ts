import {describe, expect, it} from 'vitest'

import {parseLabels} from '../../../src/lib/namespaces/namespaces'

describe('parseLabels', () => {
  it('KEY=VALUE, a bare KEY is empty, the first = splits, the last one of a key wins', () => {
    expect(parseLabels(['a=1', 'b', 'c=x=y', 'a=2'])).toEqual({a: '2', b: '', c: 'x=y'})
  })
  it('refuses an empty key as a usage error', () => {
    expect(() => parseLabels(['=v'])).toThrow('invalid label "=v": use KEY=VALUE')
  })
})
