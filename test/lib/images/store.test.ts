import {describe, expect, it} from 'vitest'

import {filterValue, formatSize} from '../../../src/lib/images/store'

describe('formatSize (Go ctr SIZE: %02.1f, binary units)', () => {
  it.each([
    [0, '0.0 B'],
    [1023, '1023.0 B'],
    [1024, '1.0 KiB'],
    [1_048_576 + 104_858, '1.1 MiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text)
  })
})

describe('filterValue', () => {
  it('quotes names for containerd filters (/ and : are special there), escaping quotes and backslashes', () => {
    expect(filterValue('docker.io/library/busybox:latest')).toBe('"docker.io/library/busybox:latest"')
    expect(filterValue('a"b\\c')).toBe('"a\\"b\\\\c"')
  })
})
