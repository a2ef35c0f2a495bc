import {describe, expect, it} from 'vitest'

import {parseByteSize, parseLogOptions} from '../../../src/lib/logs/log-options'

describe('parseByteSize', () => {
  it("reads docker's sizes in binary multiples", () => {
    expect(parseByteSize('100')).toBe(100)
    expect(parseByteSize('10k')).toBe(10 * 1024)
    expect(parseByteSize('64m')).toBe(64 * 1024 ** 2)
    expect(parseByteSize('1g')).toBe(1024 ** 3)
    expect(parseByteSize('1.5G')).toBe(1.5 * 1024 ** 3)
    expect(parseByteSize('10mb')).toBe(10 * 1024 ** 2)
    expect(parseByteSize('10MiB')).toBe(10 * 1024 ** 2)
  })
  it('is undefined for what is not a size', () => {
    for (const bad of ['', 'm', '-1m', '10x', '1e3', '10 m b', '99999999999999999999t']) expect(parseByteSize(bad)).toBeUndefined()
  })
})

describe('parseLogOptions', () => {
  it('max-size and max-file', () => {
    expect(parseLogOptions(['max-size=10m', 'max-file=3'])).toEqual({maxSize: 10 * 1024 ** 2, maxFiles: 3})
    expect(parseLogOptions([])).toEqual({})
  })
  it('names what is wrong', () => {
    expect(() => parseLogOptions(['max-size=big'])).toThrow('invalid log option max-size "big"')
    expect(() => parseLogOptions(['max-file=0', 'max-size=1m'])).toThrow('invalid log option max-file "0"')
    expect(() => parseLogOptions(['mode=non-blocking'])).toThrow('unknown log option "mode"')
    expect(() => parseLogOptions(['max-file=2'])).toThrow('max-file needs max-size')
  })
})
