import {describe, expect, it} from 'vitest'

import {parseDuration} from '../../src/cli/duration'

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1.5s', 1500],
    ['3', 3000],
    ['0', 0],
    ['1m30s', 90_000],
    ['1h2m3.5s', 3_723_500],
    ['1500us', 2],
    ['0s', 0],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text, '--timeout')).toBe(ms))

  it.each(['', 'abc', '-1s', '10 parsecs', '1e3', '1ns', '999us', '1m30', 's', '1x'])('rejects %j naming the flag', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(/^invalid --timeout/)
  })
})
