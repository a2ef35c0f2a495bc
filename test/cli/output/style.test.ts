import {describe, expect, it} from 'vitest'

import {colorLevel} from '../../../src/cli/output/style'
import {toJson} from '../../../src/cli/output/print'

describe('colorLevel', () => {
  it('colours only a TTY', () => {
    expect(colorLevel(true, {})).toBe(1)
    expect(colorLevel(false, {})).toBe(0)
  })
  it('honours NO_COLOR over everything and FORCE_COLOR off a TTY', () => {
    expect(colorLevel(true, {NO_COLOR: '1'})).toBe(0)
    expect(colorLevel(true, {NO_COLOR: '1', FORCE_COLOR: '1'})).toBe(0)
    expect(colorLevel(false, {FORCE_COLOR: '1'})).toBe(1)
    expect(colorLevel(false, {FORCE_COLOR: '3'})).toBe(3)
    expect(colorLevel(true, {FORCE_COLOR: '0'})).toBe(0)
  })
})

describe('toJson', () => {
  it('writes safe bigints as numbers and huge ones as strings', () => {
    expect(JSON.parse(toJson({a: 5n, b: 2n ** 63n}))).toEqual({a: 5, b: '9223372036854775808'})
  })
})
