/**
 * The one place that decides how results are written: a table for people, `--json` for programs, `-q` for
 * IDs only. Commands hand their domain objects here and return them: under `--json` oclif prints the
 * returned value (through BaseCommand.logJson → toJson), so these functions print nothing then.
 */
import {chalkAt, colorLevel} from './style'
import {type Column, renderTable} from './table'

export interface OutputOptions {
  json?: boolean
  quiet?: boolean
  stdout?: NodeJS.WriteStream
}

/** JSON with bigint as number when exact, else string, and dates as ISO strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, jsonReplacer, indent || undefined)
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value
}

export function write(text: string, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(text.endsWith('\n') ? text : text + '\n')
}

export function chalkFor(stream: NodeJS.WriteStream = process.stdout) {
  const level = colorLevel(Boolean(stream.isTTY))
  return level ? chalkAt(level) : undefined
}

/** A listing: JSON array, IDs one per line, or a table. */
export function printList<T>(rows: readonly T[], spec: {columns: readonly Column<T>[]; id: (row: T) => string}, options: OutputOptions): void {
  const stream = options.stdout ?? process.stdout
  if (options.json) return
  if (options.quiet) {
    if (rows.length > 0) write(rows.map(spec.id).join('\n'), stream)
    return
  }
  write(renderTable(rows, spec.columns, chalkFor(stream)), stream)
}

/** One object as `key: value` lines (JSON is the returned value's job). */
export function printObject(options: OutputOptions, lines: () => string[]): void {
  if (options.json) return
  write(lines().join('\n'), options.stdout ?? process.stdout)
}

export type {Column} from './table'
