/**
 * Noticing that nobody reads stdout any more while there is nothing to write (`ctr events | head -1` in a
 * quiet namespace). A pipe tells its writer only when it writes (EPIPE), and Node offers no way to poll a
 * pipe's write end for the reader's close (POLLERR). GNU tail does exactly that: `tail -f` exits by SIGPIPE
 * as soon as its stdout has no reader, even with nothing to print. So a `tail -f /dev/null` sharing our stdout
 * is the watcher; `--pid` ends it with ctr even if ctr is SIGKILLed, and ctr kills it by PID on exit.
 *
 * Best effort by design: without GNU tail (busybox's has no --pid) the watcher fails to start or exits by
 * itself with a status, never by SIGPIPE, and ctr then notices at its next write, as before.
 *
 * tail runs with ctr's privileges (often root), so never one found through PATH (a `tail` planted in a
 * directory early in it would run): only the system's, by absolute path, a regular file owned by root that
 * neither its group nor others can write, in a directory of the same kind. Otherwise no watcher.
 */
import {spawn} from 'node:child_process'
import {fstatSync, lstatSync, statSync} from 'node:fs'
import {dirname} from 'node:path'

import {stdoutFailed} from './streams'

/** tail's poll interval: how soon a reader's close is seen (4 wake-ups a second, no measurable CPU). */
const POLL_SECONDS = '0.25'

/** Starts the watcher when stdout is a pipe; returns a function that stops it (also run at exit). */
export function watchStdoutReader(): () => void {
  const tail = stdoutIsPipe() ? systemTail() : undefined
  if (!tail) return () => undefined
  let stopped = false
  const watcher = spawn(tail, ['-s', POLL_SECONDS, '-f', `--pid=${process.pid}`, '/dev/null'], {stdio: ['ignore', 'inherit', 'ignore']})
  const stop = () => {
    if (stopped) return
    stopped = true
    process.off('exit', stop)
    if (watcher.exitCode === null && watcher.signalCode === null) watcher.kill()
  }
  watcher.on('error', stop) // no tail here: the next write will tell
  watcher.on('exit', (_code, signal) => {
    if (!stopped && signal === 'SIGPIPE') stdoutFailed(Object.assign(new Error('stdout has no reader'), {code: 'EPIPE'}))
    stopped = true
  })
  watcher.unref()
  process.on('exit', stop)
  return stop
}

/** Where coreutils puts tail: /usr/bin (merged /usr) or /bin. */
const TAIL_CANDIDATES = ['/usr/bin/tail', '/bin/tail']

function systemTail(): string | undefined {
  const rootOnly = (info: {uid: number; mode: number}) => info.uid === 0 && (info.mode & 0o022) === 0
  for (const path of TAIL_CANDIDATES) {
    try {
      const file = lstatSync(path)
      if (file.isFile() && rootOnly(file) && rootOnly(statSync(dirname(path)))) return path
    } catch {
      // next
    }
  }
  return undefined
}

function stdoutIsPipe(): boolean {
  try {
    return fstatSync(1).isFIFO()
  } catch {
    return false
  }
}
