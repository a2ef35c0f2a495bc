import {describe, expect, it} from 'vitest'

import {formatBytes, formatPercent} from '../../../src/cli/output/bytes'

describe('formatBytes', () => {
  it.each([
    [0, '0.0 B'],
    [1023, '1023.0 B'],
    [1024, '1.0 KiB'],
    [1_048_576 + 104_858, '1.1 MiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])("Go ctr's SIZE (%%.1f, a space, binary units): %d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })

  it.each([
    [0, 'binary', '0B'],
    [1023, 'binary', '1023B'],
    [2080768, 'binary', '1.984MiB'],
    [9223372036854771712, 'binary', '8EiB'],
    [1536, 'decimal', '1.536kB'],
    [10_100_736, 'decimal', '10.1MB'],
  ] as const)("docker stats' (four significant digits): %d %s → %s", (n, style, text) => expect(formatBytes(n, style)).toBe(text))

  it('formats percentages', () => {
    expect(formatPercent(12.3456)).toBe('12.35%')
    expect(formatPercent(undefined)).toBe('--')
  })
})
