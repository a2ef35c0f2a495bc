import {describe, expect, it} from 'vitest'

import {filterValue} from '../../../src/lib/images/store'

describe('filterValue', () => {
  it('quotes names for containerd filters (/ and : are special there), escaping quotes and backslashes', () => {
    expect(filterValue('docker.io/library/busybox:latest')).toBe('"docker.io/library/busybox:latest"')
    expect(filterValue('a"b\\c')).toBe('"a\\"b\\\\c"')
  })
})
