/**
 * Tables for people: borderless cli-table3, header kept also when piped (as Go ctr does, so `awk 'NR>1'`
 * scripts work the same everywhere).
 */
import type {ChalkInstance} from './chalk-types'
import {escapeText} from './escape'

export interface Column<T> {
  header: string
  value: (row: T) => string | number | bigint | boolean | undefined | null
  /** Colour for a cell, used only when colour is on. */
  color?: (text: string, row: T, chalk: ChalkInstance) => string
}

const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '   ',
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], chalk?: ChalkInstance): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Table = require('cli-table3') as new (options: object) => {push(row: string[]): void; toString(): string}
  const table = new Table({
    head: columns.map((c) => (chalk ? chalk.bold(c.header) : c.header)),
    chars: BORDERLESS,
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
  })
  for (const row of rows) {
    table.push(
      columns.map((c) => {
        const raw = c.value(row)
        const text = raw === undefined || raw === null ? '' : escapeText(String(raw))
        return chalk && c.color ? c.color(text, row, chalk) : text
      }),
    )
  }
  // cli-table3 pads the last column too; trailing blanks only get in the way of scripts.
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}
