import {describe, expect, it} from 'vitest'

import {percentile, summarize} from '../../../src/lib/bench/stats-summary'

describe('summarize', () => {
  it('computes count, min, max, mean and the population standard deviation', () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])
    expect(s).toMatchObject({count: 8, min: 2, max: 9, mean: 5, stddev: 2})
  })

  it('does not depend on the input order and leaves the input alone', () => {
    const values = [9, 1, 5, 3, 7]
    const copy = [...values]
    expect(summarize(values)).toEqual(summarize([1, 3, 5, 7, 9]))
    expect(values).toEqual(copy)
  })

  it('interpolates percentiles at p·(n+1) as go-metrics does (the seed figures)', () => {
    // 1..10: median at position 5.5 → 5.5; 75% at 8.25 → 8.25; 95% at 10.45 → clamped to max.
    const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(s.median).toBeCloseTo(5.5)
    expect(s.p75).toBeCloseTo(8.25)
    expect(s.p95).toBe(10)
    expect(s.p99).toBe(10)
    expect(s.p999).toBe(10)
  })

  it('reaches into the tail once there are enough values', () => {
    const values = Array.from({length: 1000}, (_, i) => i + 1) // 1..1000
    const s = summarize(values)
    expect(s.median).toBeCloseTo(500.5)
    expect(s.p95).toBeCloseTo(950.95)
    expect(s.p99).toBeCloseTo(990.99)
    expect(s.p999).toBeCloseTo(999.999) // position 999.999: between the last two
  })

  it('gives the minimum for percentiles below the first position', () => {
    expect(percentile([3, 8], 0.2)).toBe(3)
    expect(percentile([], 0.5)).toBe(0)
  })

  it('handles one value and no values', () => {
    expect(summarize([42])).toMatchObject({count: 1, min: 42, max: 42, mean: 42, stddev: 0, median: 42, p999: 42})
    expect(summarize([])).toMatchObject({count: 0, min: 0, max: 0, mean: 0, stddev: 0, median: 0})
  })

  it('gives the rate per second of the elapsed time, and none without it', () => {
    expect(summarize([1, 2, 3, 4], 2000).rate).toBe(2)
    expect(summarize([1, 2, 3], 1500).rate).toBe(2)
    expect(summarize([1, 2]).rate).toBeUndefined()
    expect(summarize([1, 2], 0).rate).toBeUndefined()
  })
})
