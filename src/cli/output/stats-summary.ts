/** The benchmark's statistics as the seed printed them. */
import type {StatsSummary} from '../../lib/bench/stats-summary'

/** The seed's rows, labelled as it labels them. */
export const SUMMARY_ROWS: ReadonlyArray<[label: string, key: Exclude<keyof StatsSummary, 'rate'>]> = [
  ['count', 'count'],
  ['min', 'min'],
  ['max', 'max'],
  ['mean', 'mean'],
  ['stddev', 'stddev'],
  ['median', 'median'],
  ['75%', 'p75'],
  ['95%', 'p95'],
  ['99%', 'p99'],
  ['99.9%', 'p999'],
]

/** `count: 20`, `min: 23.4ms`, ... `rate: 41.2 containers/s`, one per line, values aligned. */
export function formatSummary(summary: StatsSummary, unit = 'ms', rateUnit = 'containers/s'): string[] {
  const rows: Array<[string, string]> = SUMMARY_ROWS.map(([label, key]) => [
    label,
    key === 'count' ? String(summary.count) : `${summary[key].toFixed(1)}${unit}`,
  ])
  if (summary.rate !== undefined) rows.push(['rate', `${summary.rate.toFixed(1)} ${rateUnit}`])
  const width = Math.max(...rows.map(([label]) => label.length)) + 1
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`)
}
