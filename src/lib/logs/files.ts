/**
 * Log files of detached containers (README "Logs of detached containers"). The daemon facts this relies on
 * (CONTAINERD-NOTES "Logging a detached container", checked against 1.6.20):
 * - `file:///abs/path` as a task's stdout makes the runc shim append the process's stdout AND stderr to that
 *   file, interleaved as written: no stream tags, no timestamps, never rotated. Both stdout and stderr must
 *   carry the URI (the 1.6 shim fails on stdout without stderr). The shim keeps writing across daemon
 *   restarts: it, not containerd, holds the pipes.
 * - With a terminal the shim treats the URI as a FIFO path and fails: a detached --tty is refused (start.ts).
 * - The shim creates a missing file (0644) and its directories (0755) as root: ctr creates them itself
 *   first, so a non-root user who talks to a root daemon owns (and can delete) its logs, and a bad path
 *   fails before anything is created.
 * The path is kept in the container label LOG_LABEL, so `logs` finds it after the task is gone, and
 * `containers delete` removes it.
 *
 * Where: --log-path FILE, else <root>/<namespace>/<id>.log with root = $CTR_LOG_DIR, else /var/lib/ctr/logs
 * for root (next to ctr's checkpoints), else $XDG_STATE_HOME/ctr/logs, else ~/.local/state/ctr/logs.
 * Finding and reading them (all, tail, follow) is read.ts.
 */
import {constants as fsConstants} from 'node:fs'
import {access, mkdir, open, rm, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import type {StdioPaths} from '../tasks/stdio'

/** The container label holding the log file's absolute path (as BUNDLE_LABEL holds the bundle's). */
export const LOG_LABEL = 'io.ctr.log-path'
export const LOG_DIR_ENV = 'CTR_LOG_DIR'
/** root's default log root, next to /var/lib/ctr/checkpoints. */
export const SYSTEM_LOG_DIR = '/var/lib/ctr/logs'

/** The directory default log paths go under (see the module comment). */
export function logRoot(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0, home: string = homedir()): string {
  if (env[LOG_DIR_ENV]) return resolve(env[LOG_DIR_ENV])
  if (uid === 0) return SYSTEM_LOG_DIR
  // The XDG spec: a relative XDG_STATE_HOME is invalid and is to be ignored.
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state')
  return join(state, 'ctr', 'logs')
}

/** The namespace and the ID become path components: containerd's identifier rule keeps them inside root. */
export function defaultLogPath(root: string, namespace: string, id: string): string {
  if (!isIdentifier(namespace)) throw usageError(`invalid namespace "${namespace}": use letters, digits and single . _ - between them`)
  if (!isIdentifier(id)) throw usageError(`invalid container ID "${id}"`)
  return join(root, namespace, `${id}.log`)
}

/** The stdio a detached task gets to log to `path`: stdout and stderr both (the 1.6 shim needs both). */
export function logStdio(path: string): StdioPaths {
  const uri = pathToFileURL(path).href
  return {stdin: '', stdout: uri, stderr: uri}
}

export interface PreparedLog {
  /** Absolute path of the log file (it exists now). */
  path: string
  stdio: StdioPaths
  /** Removes the file if this preparation created it (a failed start leaves nothing behind). */
  discard(): Promise<void>
}

export interface LogOptions {
  /** The log file; default <root>/<namespace>/<id>.log. Its directory must exist and be writable. */
  path?: string
  /** Default-path root; default logRoot(). */
  root?: string
}

/**
 * Makes sure the log file can be written before the container is created: an explicit path's directory must
 * exist and be writable (ctr creates nothing outside its own log root); the default root is created. The
 * file is created if missing (0600: logs may hold secrets), appended to otherwise.
 */
export async function prepareLog(namespace: string, id: string, options: LogOptions = {}): Promise<PreparedLog> {
  let path: string
  if (options.path !== undefined) {
    if (options.path === '') throw usageError('--log-path needs a file name')
    path = resolve(options.path)
    await checkWritableDir(dirname(path))
  } else {
    path = defaultLogPath(options.root ?? logRoot(), namespace, id)
    await mkdir(dirname(path), {recursive: true, mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError(
        'permission-denied',
        `cannot create the log directory ${dirname(path)}: ${reason(error)} (use --log-path, --no-log, or set ${LOG_DIR_ENV})`,
        {cause: error},
      )
    })
  }
  let created = false
  const handle = await open(path, 'wx', 0o600).then(
    (h) => ((created = true), h),
    async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw logFileError(path, error)
      const existing = await stat(path)
      if (!existing.isFile()) throw usageError(`log path ${path} is not a regular file`)
      return open(path, 'a').catch((e: NodeJS.ErrnoException) => {
        throw logFileError(path, e)
      })
    },
  )
  await handle.close()
  return {
    path,
    stdio: logStdio(path),
    discard: async () => {
      if (created) await rm(path, {force: true}).catch(() => undefined)
    },
  }
}

async function checkWritableDir(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw usageError(error.code === 'ENOENT' ? `log directory ${dir} does not exist` : `log directory ${dir}: ${reason(error)}`)
  })
  if (!info.isDirectory()) throw usageError(`log directory ${dir} is not a directory`)
  await access(dir, fsConstants.W_OK | fsConstants.X_OK).catch(() => {
    throw new CtrError('permission-denied', `log directory ${dir} is not writable`)
  })
}

function logFileError(path: string, error: NodeJS.ErrnoException): CtrError {
  return new CtrError(
    error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS' ? 'permission-denied' : 'usage',
    `cannot write the log file ${path}: ${reason(error)}`,
    {
      cause: error,
    },
  )
}

function reason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EROFS':
      return 'read-only file system'
    case 'EISDIR':
      return 'is a directory'
    case 'ENOTDIR':
      return 'not a directory'
    default:
      return error.message
  }
}

/** Removes the log named in a container's labels; a log already gone is fine. */
export async function removeLog(labels: Record<string, string>): Promise<string | undefined> {
  const path = labels[LOG_LABEL]
  if (!path) return undefined
  await rm(path, {force: true}).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('permission-denied', `the container was deleted but its log ${path} could not be removed: ${reason(error)}`, {cause: error})
  })
  return path
}
