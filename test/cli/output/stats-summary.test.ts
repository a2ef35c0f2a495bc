import {describe, expect, it} from 'vitest'

import {formatSummary} from '../../../src/cli/output/stats-summary'
import {summarize} from '../../../src/lib/bench/stats-summary'

describe('formatSummary', () => {
  it("prints the seed's rows in its order with units, aligned", () => {
    const lines = formatSummary(summarize([10, 20, 30, 40], 1000))
    expect(lines.map((l) => l.split(':')[0])).toEqual(['count', 'min', 'max', 'mean', 'stddev', 'median', '75%', '95%', '99%', '99.9%', 'rate'])
    expect(lines[0]).toBe('count:  4')
    expect(lines[1]).toBe('min:    10.0ms')
    expect(lines[5]).toBe('median: 25.0ms')
    expect(lines.at(-1)).toBe('rate:   4.0 containers/s')
  })

  it('leaves the rate out when there is none', () => {
    expect(formatSummary(summarize([1])).some((l) => l.startsWith('rate'))).toBe(false)
  })
})
