/**
 * Output for commands that run until stopped (`ctr events`, `ctr containers stats`): rows are written one
 * `write` each, as they happen, so a pipe (`ctr events | grep exit`) sees them at once. A column is at least
 * as wide as its header and its `width`; a command that sees its rows in rounds (stats) widens the columns to
 * each round before writing it (RowWriter.fit), one that does not (events) keeps fixed widths, and a longer
 * cell pushes its row right. Widths never shrink, so appended rows stay aligned with the ones above as far as
 * they can. The layout is the tables' (table.ts layoutRow), so `awk` splits both the same way. The header is
 * kept when piped, as tables do. On a terminal, a block of rows is redrawn in place (InPlaceBlock, the one
 * redraw: stats here, pull and push progress on stderr).
 */
import type {WriteStream} from 'node:tty'

import {escapeText} from './escape'
import {displayWidth, layoutRow} from './table'

export interface LiveColumn<T> {
  header: string
  /** Minimum width (the header's is the least); the last column is never padded. */
  width: number
  /**
   * On a terminal too narrow for the rows (RowWriter.lines with maxWidth), cells longer than this may be
   * shortened down to this many characters, ending in '…' (docker's short IDs are 12).
   */
  shortest?: number
  value: (row: T) => string
}

export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return joinCells(cells.map(escapeText), widths)
}

/** Cells already escaped. */
function joinCells(cells: readonly string[], widths: readonly number[]): string {
  return layoutRow(cells, cells.map(displayWidth), widths)
}

/** `text` in at most `width` characters, ending in '…' when it had to be cut. */
export function shorten(text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, Math.max(0, width - 1)) + '…'
}

/** Writes the header once (before the first row, or at once with header()), then one line per row. */
export class RowWriter<T> {
  private headerWritten: boolean
  private readonly widths: number[]

  constructor(
    private readonly columns: readonly LiveColumn<T>[],
    private readonly stream: NodeJS.WritableStream = process.stdout,
    /** Write the header at all (events: only to a terminal unless asked). */
    withHeader = true,
  ) {
    this.headerWritten = !withHeader
    this.widths = columns.map((c) => Math.max(c.width, displayWidth(c.header)))
  }

  /** Widens the columns to the longest cells of these rows (the next ones written, usually). */
  fit(rows: readonly T[]): void {
    for (const cells of rows.map((row) => this.cells(row))) cells.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i], displayWidth(cell))))
  }

  header(): void {
    if (this.headerWritten) return
    this.headerWritten = true
    this.stream.write(joinCells(this.headerCells(), this.widths) + '\n')
  }

  row(row: T): void {
    this.header()
    this.stream.write(joinCells(this.cells(row), this.widths) + '\n')
  }

  /**
   * A whole block (for InPlaceBlock), aligned to its own cells as well. With maxWidth (a terminal's columns),
   * lines wider than that first give up what they are over from the columns that may be shortened
   * (LiveColumn.shortest), in order; what is still too wide is left for the block to cut.
   */
  lines(rows: readonly T[], options: {header?: boolean; maxWidth?: number} = {}): string[] {
    const table = [...(options.header === false ? [] : [this.headerCells()]), ...rows.map((row) => this.cells(row))]
    const widths = this.widths.map((width, i) => Math.max(width, ...table.map((cells) => displayWidth(cells[i]))))
    if (options.maxWidth !== undefined) {
      let excess = Math.max(0, ...table.map((cells) => displayWidth(joinCells(cells, widths)))) - options.maxWidth
      this.columns.forEach((column, i) => {
        if (excess <= 0 || column.shortest === undefined) return
        const narrower = Math.min(widths[i], Math.max(column.shortest, column.header.length, widths[i] - excess))
        excess -= widths[i] - narrower
        widths[i] = narrower
      })
    }
    return table.map((cells) =>
      joinCells(
        cells.map((cell, i) => (this.columns[i].shortest === undefined ? cell : shorten(cell, widths[i]))),
        widths,
      ),
    )
  }

  private headerCells(): string[] {
    return this.columns.map((c) => escapeText(c.header))
  }

  private cells(row: T): string[] {
    return this.columns.map((c) => escapeText(c.value(row)))
  }
}

/** What InPlaceBlock reads of a terminal, each render (a fake in tests). */
export type TerminalStream = NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns' | 'rows'>>

/**
 * Redraws a block of lines in place on a terminal: the cursor goes back up over the previous block and the
 * rest of the screen is cleared (not the whole screen, so what was above stays). Going back up by the number
 * of lines written only works if each took one line of the screen and none scrolled off its top, so on a
 * terminal, lines are cut to its width and the block to its height less one (the cursor's line below it),
 * the last line then saying how many more there are; both are read at each render, so a resized window is
 * followed. On anything else lines go out as they are.
 */
export class InPlaceBlock {
  private previousLines = 0

  constructor(
    private readonly stream: TerminalStream = process.stdout,
    /** The last line when `hidden` lines do not fit. */
    private readonly more: (hidden: number) => string = (hidden) => `… ${hidden} more`,
  ) {}

  /** The terminal's columns now; undefined when the stream is not a terminal. */
  get width(): number | undefined {
    return this.stream.isTTY && this.stream.columns ? this.stream.columns : undefined
  }

  render(lines: readonly string[]): void {
    const shown = this.fit(lines)
    const up = this.previousLines > 0 ? `\x1b[${this.previousLines}A\r\x1b[J` : ''
    if (up || shown.length > 0) this.stream.write(up + shown.map((line) => line + '\n').join(''))
    this.previousLines = shown.length
  }

  private fit(lines: readonly string[]): readonly string[] {
    if (!this.stream.isTTY) return lines
    const height = this.stream.rows ? Math.max(1, this.stream.rows - 1) : Infinity
    const kept = lines.length > height ? [...lines.slice(0, height - 1), this.more(lines.length - (height - 1))] : lines
    const width = this.width
    return width === undefined ? kept : kept.map((line) => shorten(line, width))
  }
}
