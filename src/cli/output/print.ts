/**
 * The one place that decides how results are written: a table for people, `--json` for programs, `-q` for
 * IDs only. Commands hand their domain objects here and return them: under `--json` oclif prints the
 * returned value (through BaseCommand.logJson → toJson), so these functions print nothing then.
 */
import type {CtrError} from '../../lib/containerd/errors'
import {writeFailure} from '../../lib/write-failure'
import {escapeText} from './escape'
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
  if (stream === process.stdout && stdoutFailure) return // nothing more can reach it
  stream.write(text.endsWith('\n') ? text : text + '\n')
}

/*
 * ctr's own stdout and stderr failing (write-failure.ts has the rule): without an 'error' listener Node throws
 * from the stream and prints ≈32 KB of bundle source. guardOutput() is called once, before any command runs.
 */
let stdoutFailure: CtrError | undefined
let reported = false
const failureListeners = new Set<(failure: CtrError) => void>()

export function guardOutput(): void {
  // @oclif/core adds a stdout 'error' listener at load that rethrows everything but EPIPE (the crash with the
  // minified bundle on stderr): ours replaces it.
  process.stdout.removeAllListeners('error')
  process.stdout.on('error', stdoutFailed)
  // stderr gone too: nothing can be said; the exit code still tells.
  process.stderr.on('error', () => undefined)
}

/** Stdout failed (a write's error, or reader-watch.ts saw the pipe's reader go): stop as write-failure.ts says. */
export function stdoutFailed(error: unknown): void {
  if (stdoutFailure) return
  stdoutFailure = writeFailure('stdout', error)
  reportWriteFailure(stdoutFailure)
  for (const listener of failureListeners) listener(stdoutFailure)
}

/** The stdout failure seen so far, if any. */
export function outputFailure(): CtrError | undefined {
  return stdoutFailure
}

/** Calls `listener` once stdout fails (a running command stops); returns the unsubscribe function. */
export function onOutputFailure(listener: (failure: CtrError) => void): () => void {
  failureListeners.add(listener)
  return () => failureListeners.delete(listener)
}

/** Prints a write failure's one line (none for a broken pipe) once, and sets its exit code. */
export function reportWriteFailure(failure: CtrError): void {
  process.exitCode = failure.exitCode
  if (reported) return
  reported = true
  if (failure.message) process.stderr.write(`ctr: ${failure.message}\n`)
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
    if (rows.length > 0) write(rows.map((row) => escapeText(spec.id(row))).join('\n'), stream)
    return
  }
  write(renderTable(rows, spec.columns, chalkFor(stream)), stream)
}

/** One object as `key: value` lines (JSON is the returned value's job). */
export function printObject(options: OutputOptions, lines: () => string[]): void {
  if (options.json) return
  write(lines().map(escapeText).join('\n'), options.stdout ?? process.stdout)
}

export type {Column} from './table'
