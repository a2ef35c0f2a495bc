/**
 * Tables for people: borderless cli-table3, header kept also when piped (as Go ctr does, so `awk 'NR>1'`
 * scripts work the same everywhere).
 *
 * At scale (`ctr containers` with thousands of rows) cli-table3 is quadratic in rows (its layout check
 * scans every earlier row for each cell) and costs ~20 µs per cell besides (17 option merges, and
 * string-width builds its ANSI RegExp anew for each of 4 measurements per cell). So the cells are measured
 * once, here, and when every cell is one line of printable ASCII, which is what containerd's IDs, paths,
 * statuses and numbers are, cli-table3 lays out the header alone with those widths and each row is padded
 * to them the way cli-table3 pads (same gap, left-aligned, last column unpadded): linear, and the same text
 * (test/cli/output/table.test.ts compares the two). Anything else (a cell with a newline, wide or
 * combining characters, control codes) goes through cli-table3 whole, as before.
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
const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: GAP,
}
/** Cells whose width is their length: cli-table3 would measure them the same. */
const PLAIN = /^[\x20-\x7e]*$/

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], chalk?: ChalkInstance): string {
  const texts = rows.map((row) => columns.map((c) => cellText(c.value(row))))
  const widths = columns.map((c) => c.header.length)
  let plain = columns.every((c) => PLAIN.test(c.header))
  for (const cells of texts) {
    for (let i = 0; i < cells.length; i++) {
      const text = cells[i]!
      if (plain && !PLAIN.test(text)) plain = false
      if (text.length > widths[i]!) widths[i] = text.length
    }
  }
  const colour = (cells: string[], row: T) => (chalk ? cells.map((text, i) => (columns[i]!.color ? columns[i]!.color!(text, row, chalk) : text)) : cells)
  const head = columns.map((c) => (chalk ? chalk.bold(c.header) : c.header))
  if (!plain)
    return trimLines(
      cliTable(
        head,
        rows.map((row, r) => colour(texts[r]!, row)),
      ),
    )

  const lines = [cliTable(head, [], widths)]
  rows.forEach((row, r) => {
    const cells = texts[r]!
    const shown = colour(cells, row)
    lines.push(shown.map((text, i) => (i === cells.length - 1 ? text : text + ' '.repeat(widths[i]! - cells[i]!.length))).join(GAP))
  })
  return trimLines(lines.join('\n'))
}

function cellText(raw: ReturnType<Column<unknown>['value']>): string {
  // Escaped: a label or path from another client must not move the cursor or split a row.
  return raw === undefined || raw === null ? '' : escapeText(String(raw))
}

function cliTable(head: string[], rows: string[][], colWidths?: number[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Table = require('cli-table3') as new (options: object) => {push(...rows: string[][]): void; toString(): string}
  const table = new Table({
    head,
    chars: BORDERLESS,
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
    ...(colWidths ? {colWidths} : {}),
  })
  if (rows.length > 0) table.push(...rows)
  return table.toString()
}

/** cli-table3 pads the last column too; trailing blanks only get in the way of scripts. */
function trimLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}
