/**
 * The output layer's one entry, as gh's IOStreams and SfCommand's `ux`: BaseCommand makes one per run
 * (`this.ux`) and commands write through it. It owns the streams, the terminal decision, colour (chalk),
 * tables, JSON lines, spinners (ora), progress and the live views; under --json everything meant for a person
 * is silent (oclif prints the command's returned value, through BaseCommand.logJson). chalk, ora and
 * string-width load on first use only: most scripted runs never need them (cold start).
 */
import type {ChalkInstance} from './chalk-types'
import {escapeText} from './escape'
import {InPlaceBlock, type LiveColumn, RowWriter, type TerminalStream} from './live'
import {
  oraSpinner,
  type ProgressBar,
  progressBar,
  silentBar,
  silentSpinner,
  silentTransfer,
  type Spinner,
  summaryOnly,
  type TransferDisplay,
  transferLines,
} from './progress'
import {toJson, write} from './streams'
import {type Column, renderTable} from './table'

export type {Column} from './table'
export type {LiveColumn} from './live'

/** What the decisions read of the environment. */
export interface OutputEnv {
  CI?: string
  FORCE_COLOR?: string
  NO_COLOR?: string
  TERM?: string
}

/**
 * The one terminal decision: is a person watching this stream, so that it may be drawn on (spinners,
 * progress, redraw in place, colour)? A TTY, not a CI run (a CI log is a file even when the runner gives a
 * pseudo-terminal), a terminal that can move its cursor (TERM=dumb cannot), and not --json.
 */
export function isInteractive(stream: {isTTY?: boolean}, env: OutputEnv = process.env, json = false): boolean {
  return Boolean(stream.isTTY) && !json && !env.CI && env.TERM !== 'dumb'
}

/**
 * Colour: 0 = none. NO_COLOR (any non-empty value) wins; FORCE_COLOR forces (a level, or off with 0/false);
 * otherwise on when the stream is interactive. One chalk instance gets this level (chalk does not honour
 * NO_COLOR by itself).
 */
export function colorLevel(stream: {isTTY?: boolean}, env: OutputEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return 0
    const n = Number(env.FORCE_COLOR)
    return n === 2 || n === 3 ? n : 1
  }
  return isInteractive(stream, env) ? 1 : 0
}

export interface UxStreams {
  stdout: TerminalStream
  stderr: TerminalStream
}

export interface UxOptions {
  /** --json: results are the command's returned value; nothing for people is written. */
  json?: boolean
  env?: OutputEnv
}

export class Ux {
  readonly json: boolean
  private readonly env: OutputEnv
  private chalkInstance?: ChalkInstance | null

  constructor(
    readonly streams: UxStreams = {stdout: process.stdout, stderr: process.stderr},
    options: UxOptions = {},
  ) {
    this.json = Boolean(options.json)
    this.env = options.env ?? process.env
  }

  /** The stream is a terminal (events' header, a console's size); isInteractive for drawing on it. */
  isTerminal(stream: 'stdout' | 'stderr'): boolean {
    return Boolean(this.streams[stream].isTTY)
  }

  /** A person watches this stream: spinners, progress and redraw go to it (isInteractive). */
  isInteractive(stream: 'stdout' | 'stderr'): boolean {
    return isInteractive(this.streams[stream], this.env, this.json)
  }

  /** Colour for stdout, or undefined when it is off (chalk loads here, only when it is on). */
  get chalk(): ChalkInstance | undefined {
    if (this.chalkInstance === undefined) {
      const level = colorLevel(this.streams.stdout, this.env)
      this.chalkInstance = level ? chalkAt(level) : null
    }
    return this.chalkInstance ?? undefined
  }

  /** A line (or lines) for people on stdout: nothing under --json, nor once stdout has failed. */
  log(text: string): void {
    if (!this.json) write(text, this.streams.stdout)
  }

  /** One JSON object per line (NDJSON), for commands that stream (events, stats --json). */
  jsonLine(value: unknown): void {
    this.streams.stdout.write(toJson(value, 0) + '\n')
  }

  /** `ctr: <message>` on stderr, the message escaped (it may carry another client's text). */
  warn(message: string): void {
    this.streams.stderr.write(`ctr: ${escapeText(message)}\n`)
  }

  /** A listing: a table, IDs one per line (-q), or nothing under --json (the returned value is printed). */
  list<T>(rows: readonly T[], spec: {columns: readonly Column<T>[]; id: (row: T) => string}, options: {quiet?: boolean} = {}): void {
    if (this.json) return
    if (options.quiet) {
      if (rows.length > 0) this.log(rows.map((row) => escapeText(spec.id(row))).join('\n'))
      return
    }
    this.log(renderTable(rows, spec.columns, this.chalk))
  }

  /** One object as `key: value` lines (under --json, the returned value instead). */
  object(lines: () => string[]): void {
    if (this.json) return
    this.log(lines().map(escapeText).join('\n'))
  }

  /** Rows on stdout as they come, one write each (events, stats when not redrawn); `header: false` omits it. */
  rows<T>(columns: readonly LiveColumn<T>[], options: {header?: boolean} = {}): RowWriter<T> {
    return new RowWriter(columns, this.streams.stdout, options.header ?? true)
  }

  /** A block of stdout redrawn in place, when stdout is interactive; undefined otherwise (then append rows). */
  liveBlock(more?: (hidden: number) => string): InPlaceBlock | undefined {
    return this.isInteractive('stdout') ? new InPlaceBlock(this.streams.stdout, more) : undefined
  }

  /** A spinner on stderr; a silent one when stderr is not interactive. */
  spinner(text: string): Spinner {
    return this.isInteractive('stderr') ? oraSpinner(text, this.streams.stderr) : silentSpinner(text)
  }

  /** A progress bar on stderr; a silent one when stderr is not interactive. */
  progress(label: string): ProgressBar {
    return this.isInteractive('stderr') ? progressBar(label, this.streams.stderr) : silentBar
  }

  /** Pull's and push's display on stderr: live lines on a terminal, else the summary alone; nothing under --json. */
  transfer(): TransferDisplay {
    if (this.json) return silentTransfer
    return this.isInteractive('stderr') ? transferLines(this.streams.stderr) : summaryOnly(this.streams.stderr)
  }
}

let cachedChalk: {level: number; chalk: ChalkInstance} | undefined

/** A chalk instance at this level, loaded on first use. */
export function chalkAt(level: number): ChalkInstance {
  if (cachedChalk?.level === level) return cachedChalk.chalk
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const chalk = require('chalk') as {Instance: new (options: {level: number}) => ChalkInstance}
  cachedChalk = {level, chalk: new chalk.Instance({level})}
  return cachedChalk.chalk
}
