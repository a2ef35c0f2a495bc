/**
 * The statistics of the seed's benchmark (containerd 0.0.4 README, "Performance"): count, min, max, mean,
 * stddev, median, 75%, 95%, 99%, 99.9%, and a rate. Computed as go-metrics (which printed the seed's
 * figures) computes them: population standard deviation, and percentiles interpolated at position
 * p·(n+1) of the sorted sample, clamped to min and max — so the median of an even count is the mean of
 * the two middle values, and 99.9% of 22 values is the max, as in the seed's output.
 */

export interface StatsSummary {
  count: number
  min: number
  max: number
  mean: number
  stddev: number
  median: number
  p75: number
  p95: number
  p99: number
  p999: number
  /** count per second of `elapsedMs`; undefined without elapsedMs (or when it is 0). */
  rate?: number
}

/** Summarizes a sample (any unit; ctr bench uses ms). An empty sample gives count 0 and zeros. */
export function summarize(values: readonly number[], elapsedMs?: number): StatsSummary {
  const count = values.length
  const rate = elapsedMs && elapsedMs > 0 ? count / (elapsedMs / 1000) : undefined
  if (count === 0) return {count, min: 0, max: 0, mean: 0, stddev: 0, median: 0, p75: 0, p95: 0, p99: 0, p999: 0, rate}
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((sum, v) => sum + v, 0) / count
  const variance = sorted.reduce((sum, v) => sum + (v - mean) ** 2, 0) / count
  return {
    count,
    min: sorted[0],
    max: sorted[count - 1],
    mean,
    stddev: Math.sqrt(variance),
    median: percentile(sorted, 0.5),
    p75: percentile(sorted, 0.75),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    rate,
  }
}

/** go-metrics' SampleSnapshot percentile of an ascending sample. */
export function percentile(sorted: readonly number[], p: number): number {
  const n = sorted.length
  if (n === 0) return 0
  const position = p * (n + 1)
  if (position < 1) return sorted[0]
  if (position >= n) return sorted[n - 1]
  const lower = sorted[Math.floor(position) - 1]
  const upper = sorted[Math.floor(position)]
  return lower + (position - Math.floor(position)) * (upper - lower)
}
