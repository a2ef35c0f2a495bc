/**
 * An exclusive lock on a file in a private directory, with flock(2) semantics: the kernel drops it when the
 * holder closes the file or dies (also on SIGKILL), so there is no stale lock to detect or break. Node has
 * no flock, so util-linux's flock(1), by absolute path, takes the lock on a descriptor ctr passes it (fd 3):
 * a lock belongs to the open file description, which ctr keeps after flock(1) exits. One short process per
 * lock; the lock files stay (removing a lock file others may be waiting on would let two hold it).
 */
import {spawn} from 'node:child_process'

import {CtrError} from '../containerd/errors'
import {openForAppend} from '../private-paths'

const FLOCK = '/usr/bin/flock'

export interface LockOptions {
  /** Give up after this many seconds (default 120). */
  timeoutSeconds?: number
  /** What is locked, for the timeout's message. */
  what?: string
  signal?: AbortSignal
}

/** Runs fn holding the lock on `path` (created 0600 if missing; its directory must be private). */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const {handle} = await openForAppend(path)
  try {
    await new Promise<void>((resolve, reject) => {
      const seconds = options.timeoutSeconds ?? 120
      const child = spawn(FLOCK, ['--exclusive', '--wait', String(seconds), '3'], {
        stdio: ['ignore', 'ignore', 'pipe', handle.fd],
        signal: options.signal,
      })
      let stderr = ''
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.name === 'AbortError') reject(new CtrError('cancelled', 'interrupted', {cause: error}))
        else reject(new CtrError('internal', `cannot run ${FLOCK}: ${error.message}`, {cause: error}))
      })
      child.on('close', (code) => {
        if (code === 0) resolve()
        else if (code === 1) reject(new CtrError('deadline-exceeded', `timed out after ${seconds} s waiting for the lock on ${options.what ?? path}`))
        else if (code !== null) reject(new CtrError('internal', `${FLOCK} failed on ${path}: ${stderr.trim().split('\n')[0] || `exit ${code}`}`))
      })
    })
    return await fn()
  } finally {
    await handle.close()
  }
}
