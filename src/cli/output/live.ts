/**
 * Output for commands that run until stopped (`ctr events`, `ctr containers stats`): rows are written one
 * `write` each, as they happen, so a pipe (`ctr events | grep exit`) sees them at once. Widths are fixed in
 * advance (a stream cannot measure rows it has not seen); longer cells push the row right, and cells are
 * separated by at least three spaces as in our tables, so `awk` splits them the same way. The header is kept
 * when piped, as tables do.
 */
import {escapeText} from './escape'
import {onOutputFailure, toJson} from './print'

export interface LiveColumn<T> {
  header: string
  /** Minimum width; the last column is never padded. */
  width: number
  value: (row: T) => string
}

const GAP = '   '

export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map(escapeText)
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join(GAP)
    .trimEnd()
}

/** Writes the header once (before the first row, or at once with header()), then one line per row. */
export class RowWriter<T> {
  private headerWritten: boolean

  constructor(
    private readonly columns: readonly LiveColumn<T>[],
    private readonly stream: NodeJS.WritableStream = process.stdout,
    /** Write the header at all (events: only to a terminal unless asked). */
    withHeader = true,
  ) {
    this.headerWritten = !withHeader
  }

  header(): void {
    if (this.headerWritten) return
    this.headerWritten = true
    this.stream.write(this.render(this.columns.map((c) => c.header)) + '\n')
  }

  row(row: T): void {
    this.header()
    this.stream.write(this.render(this.columns.map((c) => c.value(row))) + '\n')
  }

  lines(rows: readonly T[], withHeader = true): string[] {
    const out = rows.map((row) => this.render(this.columns.map((c) => c.value(row))))
    return withHeader ? [this.render(this.columns.map((c) => c.header)), ...out] : out
  }

  private render(cells: string[]): string {
    return formatRow(
      cells,
      this.columns.map((c) => c.width),
    )
  }
}

/** One JSON object per line (NDJSON), bigint as numbers. */
export function writeJsonLine(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(toJson(value, 0) + '\n')
}

/**
 * Redraws a block of lines in place on a terminal: the cursor goes back up over the previous block and the
 * rest of the screen is cleared (not the whole screen, so what was above stays).
 */
export class InPlaceBlock {
  private previousLines = 0

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  render(lines: readonly string[]): void {
    const up = this.previousLines > 0 ? `\x1b[${this.previousLines}A\r\x1b[J` : ''
    this.stream.write(up + lines.join('\n') + '\n')
    this.previousLines = lines.length
  }
}

/**
 * Sizes as docker prints them: four significant digits, binary units for memory (KiB, MiB, GiB), decimal
 * units for I/O (kB, MB, GB).
 */
export function humanBytes(bytes: number, base: 'binary' | 'decimal' = 'binary'): string {
  const step = base === 'binary' ? 1024 : 1000
  const units = base === 'binary' ? ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] : ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']
  let value = bytes
  let i = 0
  while (Math.abs(value) >= step && i < units.length - 1) {
    value /= step
    i++
  }
  return `${Number(value.toPrecision(4))}${units[i]}`
}

export function formatPercent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '--' : `${value.toFixed(2)}%`
}

/**
 * `ctr events | head -1`: once the reader is gone, writes fail with EPIPE. End at once and quietly, with 141
 * (128 + SIGPIPE) as a Go or C program killed by SIGPIPE would, instead of an unhandled 'error' stack trace.
 */
export function exitOnOutputFailure(): void {
  // The one rule for a broken stdout (print.ts guardOutput, lib/write-failure.ts: EPIPE → 141 quietly, other
  // errors → one line and 125), but at once: a stream has nothing more to do once nobody can read it.
  onOutputFailure((failure) => process.exit(failure.exitCode))
}
