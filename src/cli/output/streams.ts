/**
 * ctr's own stdout and stderr: JSON as ctr writes it, a line that is not written once stdout has failed, and
 * what happens when stdout fails (lib/write-failure.ts has the rule). Ux (ux.ts) writes through here.
 */
import type {CtrError} from '../../lib/containerd/errors'
import {writeFailure} from '../../lib/write-failure'

/** JSON with bigint as number when exact, else string, and dates as ISO strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, jsonReplacer, indent || undefined)
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value
}

export function write(text: string, stream: NodeJS.WritableStream = process.stdout): void {
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

/**
 * For commands that stream until stopped (`ctr events | head -1`): once the reader is gone, end at once and
 * quietly, with 141 (128 + SIGPIPE) as a Go or C program killed by SIGPIPE would, or one line and 125 for
 * another failure, as for every command but without waiting: nothing more can be done once nobody reads.
 */
export function exitOnOutputFailure(): void {
  onOutputFailure((failure) => process.exit(failure.exitCode))
}
