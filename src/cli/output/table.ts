/**
 * The one column layout, for tables (`ctr containers`) and for rows written as they come (live.ts): cells
 * left-aligned, padded to their column's width, three spaces apart, the last column unpadded, no borders and
 * no trailing blanks, the header kept also when piped (as Go ctr does, so `awk 'NR>1'` scripts work the
 * same everywhere). Widths are display widths, measured once per cell with string-width (the measure
 * cli-table3 uses, so wide and combining characters line up as they did under it); printable ASCII, which
 * is what containerd's IDs, paths, statuses and numbers are, is its own length, so string-width loads only
 * for other text.
 *
 * cli-table3 sets the table's look: it lays out the header, borderless, with the widths measured here, and
 * each row is padded to them as it pads (same gap, left-aligned). It does not lay out the rows: it lays out
 * a whole table before printing it, and at scale that is quadratic in rows (its layout check scans every
 * earlier row for each cell) and ≈150 µs a row even given the widths, against Go ctr's ≈70 µs for a whole
 * container listed (bench/list-scale.sh); the rows are linear here. test/cli/output/table.test.ts checks
 * the rows line up under cli-table3's header.
 */
import type {ChalkInstance} from './chalk-types'
import {escapeText} from './escape'

export interface Column<T> {
  header: string
  value: (row: T) => string | number | bigint | boolean | undefined | null
  /** Colour for a cell, used only when colour is on. */
  color?: (text: string, row: T, chalk: ChalkInstance) => string
}

const GAP = '   '
/** Text whose display width is its length. */
const PLAIN = /^[\x20-\x7e]*$/

let stringWidth: ((text: string) => number) | undefined

/** Columns a cell takes on a terminal (escaped text: no control characters). */
export function displayWidth(text: string): number {
  if (PLAIN.test(text)) return text.length
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  stringWidth ??= require('string-width') as (text: string) => number
  return stringWidth(text)
}

/**
 * One line: each cell but the last padded to its column's width (`cellWidths` are the cells' own, measured
 * once), `shown` being what is printed for each (the cell, or the cell coloured).
 */
export function layoutRow(shown: readonly string[], cellWidths: readonly number[], widths: readonly number[]): string {
  let line = ''
  const last = shown.length - 1
  for (let i = 0; i < last; i++) line += shown[i] + ' '.repeat(Math.max(0, widths[i] - cellWidths[i])) + GAP
  return (line + (shown[last] ?? '')).trimEnd()
}

/** A table: the header, then one line per row, each column as wide as its widest cell. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], chalk?: ChalkInstance): string {
  const headers = columns.map((c) => escapeText(c.header))
  const headerWidths = headers.map(displayWidth)
  const widths = [...headerWidths]
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))))
  const cellWidths = cells.map((texts) =>
    texts.map((text, i) => {
      const width = displayWidth(text)
      if (width > widths[i]) widths[i] = width
      return width
    }),
  )
  const lines = [headerLine(chalk ? headers.map((h) => chalk.bold(h)) : headers, widths)]
  rows.forEach((row, r) => {
    const texts = cells[r]
    const shown = chalk ? texts.map((text, i) => columns[i].color?.(text, row, chalk) ?? text) : texts
    lines.push(layoutRow(shown, cellWidths[r], widths))
  })
  return lines.join('\n')
}

const BORDERLESS = Object.fromEntries(
  [
    'top',
    'top-mid',
    'top-left',
    'top-right',
    'bottom',
    'bottom-mid',
    'bottom-left',
    'bottom-right',
    'left',
    'left-mid',
    'mid',
    'mid-mid',
    'right',
    'right-mid',
  ].map((key) => [key, '']),
)

/** The header row as cli-table3 lays it out with these widths (trailing blanks off, as every row). */
function headerLine(headers: readonly string[], widths: readonly number[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Table = require('cli-table3') as new (options: object) => {toString(): string}
  const table = new Table({
    head: headers,
    chars: {...BORDERLESS, middle: GAP},
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
    colWidths: widths,
  })
  return table.toString().trimEnd()
}

function cellText(raw: ReturnType<Column<unknown>['value']>): string {
  // Escaped: a label or path from another client must not move the cursor or split a row.
  return raw === undefined || raw === null ? '' : escapeText(String(raw))
}
