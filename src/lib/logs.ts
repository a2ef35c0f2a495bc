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
 */
import {constants as fsConstants, watch, type FSWatcher} from 'node:fs'
import {access, mkdir, open, rm, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {ContainersDefinition} from '../gen/containerd/services/containers/v1/containers'
import type {ContainerdClient} from './containerd/client'
import {CtrError, usageError} from './containerd/errors'
import type {StdioPaths} from './stdio'

/** The container label holding the log file's absolute path (as BUNDLE_LABEL holds the bundle's). */
export const LOG_LABEL = 'io.ctr.log-path'
export const LOG_DIR_ENV = 'CTR_LOG_DIR'
/** root's default log root, next to /var/lib/ctr/checkpoints. */
export const SYSTEM_LOG_DIR = '/var/lib/ctr/logs'
/** How long output may keep arriving after the process exited (the shim copies its pipes after the exit). */
export const FOLLOW_DRAIN_MS = 2000
const POLL_MS = 250
/** containerd's identifier rule: the namespace and ID become path components of the default path. */
const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/

/** The directory default log paths go under (see the module comment). */
export function logRoot(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0, home: string = homedir()): string {
  if (env[LOG_DIR_ENV]) return resolve(env[LOG_DIR_ENV])
  if (uid === 0) return SYSTEM_LOG_DIR
  // The XDG spec: a relative XDG_STATE_HOME is invalid and is to be ignored.
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state')
  return join(state, 'ctr', 'logs')
}

export function defaultLogPath(root: string, namespace: string, id: string): string {
  if (!IDENTIFIER.test(namespace)) throw usageError(`invalid namespace ${JSON.stringify(namespace)}: use letters, digits and single . _ - between them`)
  if (!IDENTIFIER.test(id)) throw usageError(`invalid container ID ${JSON.stringify(id)}`)
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
      throw new CtrError('permission-denied', `cannot create the log directory ${dirname(path)}: ${reason(error)} (use --log-path, --no-log, or set ${LOG_DIR_ENV})`, {cause: error})
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
  return new CtrError(error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS' ? 'permission-denied' : 'usage', `cannot write the log file ${path}: ${reason(error)}`, {
    cause: error,
  })
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

/** The log file ctr keeps for the container; a one-line error when there is none. */
export async function containerLogPath(client: ContainerdClient, id: string): Promise<string> {
  const {container} = await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('not-found', `container "${id}" not found`, {cause: error})
      throw error
    })
  const path = container?.labels[LOG_LABEL]
  if (!path) throw new CtrError('not-found', `container "${id}" has no log ctr knows of (started attached, with --no-log, or by another tool)`)
  const info = await stat(path).catch(() => undefined)
  if (!info?.isFile()) throw new CtrError('not-found', `the log of container "${id}" is gone: ${path}`)
  return path
}

/**
 * Where the last `lines` lines of `chunk` begin, `chunk` being the last bytes of a file (whole: `atStart`).
 * A final newline ends the last line, it does not begin an empty one. undefined: chunk holds fewer lines
 * than asked and more of the file is needed.
 */
export function tailOffset(chunk: Uint8Array, lines: number, atStart: boolean): number | undefined {
  if (lines <= 0) return chunk.length
  let end = chunk.length
  if (end > 0 && chunk[end - 1] === 0x0a) end--
  let seen = 0
  for (let i = end - 1; i >= 0; i--) {
    if (chunk[i] === 0x0a && ++seen === lines) return i + 1
  }
  return atStart ? 0 : undefined
}

/** The byte offset where the file's last `lines` lines begin, reading backwards in blocks. */
export async function tailStart(path: string, lines: number, size: number, blockSize = 64 * 1024): Promise<number> {
  if (lines <= 0) return size
  const handle = await open(path, 'r')
  try {
    let from = size
    let chunk: Buffer = Buffer.alloc(0)
    for (;;) {
      from = Math.max(0, from - blockSize)
      const block = Buffer.alloc(size - from - chunk.length)
      await handle.read(block, 0, block.length, from)
      chunk = Buffer.concat([block, chunk])
      const offset = tailOffset(chunk, lines, from === 0)
      if (offset !== undefined) return from + offset
    }
  } finally {
    await handle.close()
  }
}

export interface ReadLogOptions {
  /** Only the last N lines (of what is there when the call begins). */
  tail?: number
  /** Keep printing what is appended until `until` settles (then drain what the shim still writes). */
  follow?: {until: Promise<unknown>}
  /** Receives the bytes; awaited, so a slow reader holds the copy back. */
  write: (chunk: Buffer) => Promise<void>
  signal?: AbortSignal
}

/** Copies the log to `write`: all of it or its tail, then (follow) what is appended until `until` settles. */
export async function readLog(path: string, options: ReadLogOptions): Promise<void> {
  const {size} = await stat(path)
  let offset = options.tail === undefined ? 0 : await tailStart(path, options.tail, size)
  offset = await copyRange(path, offset, size, options)
  if (!options.follow) return
  let ended = false
  const endedPromise = options.follow.until.then(
    () => void (ended = true),
    () => void (ended = true),
  )
  let wake: (() => void) | undefined
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(path, () => wake?.())
    watcher.on('error', () => undefined)
  } catch {
    // polling alone then
  }
  try {
    let quietSince = 0
    let drainBegan = 0
    for (;;) {
      options.signal?.throwIfAborted()
      const current = await stat(path).catch(() => undefined)
      if (!current) return // deleted meanwhile (containers delete): nothing more will come
      if (current.size < offset) offset = 0 // truncated by someone: start over, as tail -F does
      const before = offset
      offset = await copyRange(path, offset, current.size, options)
      if (ended) {
        // The exit is known; the shim may still be copying the last output. Stop once the file has been
        // quiet for a while, or after FOLLOW_DRAIN_MS at the most (a child holding the pipes open).
        const now = Date.now()
        drainBegan ||= now
        if (offset > before || quietSince === 0) quietSince = now
        if (now - quietSince >= 200 || now - drainBegan >= FOLLOW_DRAIN_MS) return
      }
      await new Promise<void>((resolveWait) => {
        const done = () => {
          clearTimeout(timer)
          options.signal?.removeEventListener('abort', done)
          wake = undefined
          resolveWait()
        }
        const timer = setTimeout(done, ended ? 50 : POLL_MS)
        wake = done
        options.signal?.addEventListener('abort', done, {once: true})
        if (!ended) void endedPromise.then(done)
      })
    }
  } finally {
    watcher?.close()
  }
}

async function copyRange(path: string, from: number, to: number, options: ReadLogOptions): Promise<number> {
  if (to <= from) return from
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(Math.min(64 * 1024, to - from))
    let offset = from
    while (offset < to) {
      options.signal?.throwIfAborted()
      const {bytesRead} = await handle.read(buffer, 0, Math.min(buffer.length, to - offset), offset)
      if (bytesRead === 0) break
      await options.write(Buffer.from(buffer.subarray(0, bytesRead)))
      offset += bytesRead
    }
    return offset
  } finally {
    await handle.close()
  }
}
