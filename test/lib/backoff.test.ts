import {describe, expect, it} from 'vitest'

import {Backoff, backoffDelay, type BackoffOptions} from '../../src/lib/backoff'

const base: BackoffOptions = {initialMs: 100, maxMs: 1000, factor: 2, jitter: 'none'}

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap without jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, base))).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
  })

  it('never overflows to Infinity or NaN on huge attempt counts', () => {
    expect(backoffDelay(5000, base)).toBe(1000)
    expect(backoffDelay(5000, {...base, jitter: 'full'}, () => 0.5)).toBe(500)
  })

  it('full jitter spreads over [0, ceiling)', () => {
    const opts = {...base, jitter: 'full' as const}
    expect(backoffDelay(2, opts, () => 0)).toBe(0)
    expect(backoffDelay(2, opts, () => 0.5)).toBe(200)
    expect(backoffDelay(2, opts, () => 0.999)).toBe(399)
  })

  it('equal jitter keeps at least half the ceiling', () => {
    const opts = {...base, jitter: 'equal' as const}
    expect(backoffDelay(3, opts, () => 0)).toBe(400)
    expect(backoffDelay(3, opts, () => 0.5)).toBe(600)
    expect(backoffDelay(6, opts, () => 0.999)).toBe(999)
  })

  it('clamps a misbehaving random source into [0, 1]', () => {
    expect(backoffDelay(0, {...base, jitter: 'full'}, () => 7)).toBe(100)
    expect(backoffDelay(0, {...base, jitter: 'full'}, () => -3)).toBe(0)
  })

  it('rejects negative or fractional attempts', () => {
    expect(() => backoffDelay(-1, base)).toThrow(RangeError)
    expect(() => backoffDelay(1.5, base)).toThrow(RangeError)
  })

  it('stays within bounds for real randomness', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt)
      const d = backoffDelay(attempt, {...base, jitter: 'equal'})
      expect(d).toBeGreaterThanOrEqual(ceiling / 2)
      expect(d).toBeLessThan(ceiling)
    }
  })
})

describe('Backoff', () => {
  it('counts attempts and starts over after reset', () => {
    const b = new Backoff(base)
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400])
    expect(b.attempts).toBe(3)
    b.reset()
    expect(b.attempts).toBe(0)
    expect(b.next()).toBe(100)
  })
})
