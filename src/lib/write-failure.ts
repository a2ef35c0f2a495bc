/**
 * What ctr does when its own stdout or stderr cannot be written (a closed pipe, a full disk, a terminal that
 * went away): one rule, used by every command (src/cli/output/streams.ts) and by attached sessions
 * (tasks/attach.ts), so both stop the same way with the same words and exit code.
 *
 * - stdout EPIPE (the reader went away, `| head -1`): stop as a pipeline member does, silently, exit 141
 *   (128 + SIGPIPE, what a shell reports for a writer killed by SIGPIPE, and what Go ctr exits with).
 * - any other stdout error (ENOSPC, EIO, ...): one line `ctr: write stdout: <reason>`, exit 125.
 * - stderr errors: nothing can be said any more; ctr carries on (its exit code is unchanged).
 */
import {getSystemErrorMap} from 'node:util'

import {CtrError, EXIT} from './containerd/errors'

export type OutputStreamName = 'stdout' | 'stderr'

/** `ENOSPC` → `no space left on device` (libuv's text, as strerror words it). */
export function errnoText(error: unknown): string {
  const {errno, code, message} = (error ?? {}) as NodeJS.ErrnoException
  const known = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined
  if (known) return known[1]
  return code ?? (message ? String(message).split('\n')[0] : 'write failed')
}

export function isBrokenPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE'
}

/** The CtrError ctr ends with when writing `stream` failed: message '' for a broken pipe (nothing is printed). */
export function writeFailure(stream: OutputStreamName, error: unknown): CtrError {
  if (isBrokenPipe(error)) return new CtrError('output-failed', '', {cause: error, exitCode: EXIT.brokenPipe})
  return new CtrError('output-failed', `write ${stream}: ${errnoText(error)}`, {cause: error, exitCode: EXIT.failure})
}
