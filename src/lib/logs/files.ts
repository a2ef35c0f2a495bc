/**
 * Log files of detached containers (docs/containerd.md "Logging a detached container"). The task's stdout
 * and stderr go to ctr's log writer (src/logger.ts, dist/logger.js), which containerd's shim starts as the
 * task's `binary://` stdio and owns: it appends both streams to the file, interleaved as written (no stream
 * tags, no timestamps), rotates a file ctr created at a size limit, and drops and counts output it cannot
 * write (a full disk) instead of blocking the container.
 *
 * ctr runs as root, and a container label is anybody's to set: a label never decides what ctr reads or
 * removes. ctr keeps a record of each log it prepared, <root>/<namespace>/<id>.json (path, whether ctr
 * created the file, rotation, lost output), in a directory only root or the user can write; `logs` reads and
 * `delete` removes only what that record names (and the label agrees with), and removes only a file ctr
 * created that no other record names. Log files are opened without following symlinks, and only in
 * directories nobody else can write (private-paths.ts).
 *
 * Where: --log-path FILE, else <root>/<namespace>/<id>.log with root = $CTR_LOG_DIR, else /var/lib/ctr/logs
 * for root (next to ctr's checkpoints), else $XDG_STATE_HOME/ctr/logs, else ~/.local/state/ctr/logs.
 * Finding and reading them (all, tail, follow) is read.ts.
 */
import {access, mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {accessSync, constants as fsConstants} from 'node:fs'
import {homedir} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'

import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {openForAppend, privateDirProblem, requirePrivateDir} from '../private-paths'
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

/** What ctr's log writer is told (dist/logger.js's one argument). */
export interface LoggerConfig {
  /** The log file (in a private directory: ctr checked it). */
  path: string
  /** This log's record (LogRecord), where lost output is noted. */
  record: string
  /** Rotate when the file would grow past this many bytes (0: never). */
  maxSize: number
  /** Files kept when rotating, the current one included (path, path.1, ... path.<maxFiles-1>). */
  maxFiles: number
}

/** Output the log writer could not write: bytes, when the first and the last of it came, and why. */
export interface LostOutput {
  bytes: number
  first: string
  last: string
  reason: string
}

/** ctr's record of a log it prepared (see the module comment). */
export interface LogRecord {
  path: string
  /** ctr created the file (else it existed: never rotated, never removed). */
  created: boolean
  maxSize: number
  maxFiles: number
  lost?: LostOutput
}

/** dist/logger.js, beside the bundle that runs (dist/cli.js, dist/index.js), or dist/ when run from src/. */
export const LOGGER_SCRIPT = basename(__dirname) === 'dist' ? join(__dirname, 'logger.js') : resolve(__dirname, '../../../dist/logger.js')

/**
 * The stdio a detached task gets to log through ctr's writer. The 1.6 shim passes each query key and its
 * value as arguments, in map order: one key keeps them in order. The shim holds the task back until the
 * writer closes fd 5, which Node can do only once it has started (≈25–50 ms, more on a loaded machine): so
 * the system shell, by absolute path as mkfifo is (stdio.ts), closes fd 5 at once and then becomes the
 * writer (`exec`), `binary:///bin/sh?-c=exec 5>/dev/null; exec NODE SCRIPT CONFIG`. What the task writes meanwhile
 * waits in the pipes; the file exists already (prepareLog made it). Without a shell there:
 * `binary://NODE?SCRIPT=CONFIG`, the writer closing fd 5 itself.
 */
export function loggerStdio(config: LoggerConfig, node: string = process.execPath, shell: string | null = systemShell()): StdioPaths {
  const uri = new URL('binary:///')
  if (shell) {
    uri.pathname = shell
    const command = [node, LOGGER_SCRIPT, JSON.stringify(config)].map(shellQuote).join(' ')
    // fd 5 becomes /dev/null rather than closed: the writer's own close(5) must not hit a descriptor
    // Node has opened in its place meanwhile (libuv's, which aborts the process).
    uri.search = new URLSearchParams([['-c', `exec 5>/dev/null; exec ${command}`]]).toString()
  } else {
    uri.pathname = node
    uri.search = new URLSearchParams([[LOGGER_SCRIPT, JSON.stringify(config)]]).toString()
  }
  return {stdin: '', stdout: uri.href, stderr: uri.href}
}

/** Where POSIX puts the shell; never looked up in PATH (ctr runs as root). */
export const SHELL_PATH = '/bin/sh'

function systemShell(): string | null {
  try {
    accessSync(SHELL_PATH, fsConstants.X_OK)
    return SHELL_PATH
  } catch {
    return null
  }
}

/** One word for sh: single-quoted, a quote inside as '\''. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`
}

export interface PreparedLog {
  /** Absolute path of the log file (it exists now). */
  path: string
  stdio: StdioPaths
  /** Removes the file if this preparation created it, and the record (a failed start leaves nothing behind). */
  discard(): Promise<void>
}

export interface LogOptions {
  /** The log file; default <root>/<namespace>/<id>.log. Its directory must exist and be private. */
  path?: string
  /** Default-path root, and where records are kept; default logRoot(). */
  root?: string
  /** Rotate at this size in bytes (0 or unset: never). Only a file ctr creates rotates. */
  maxSize?: number
  /** Files kept when rotating, the current one included (default 1: the file starts over). */
  maxFiles?: number
}

/** The directory of a namespace's default logs and of its records. */
function namespaceDir(root: string, namespace: string): string {
  return dirname(defaultLogPath(root, namespace, 'x'))
}

function recordPath(root: string, namespace: string, id: string): string {
  return join(namespaceDir(root, namespace), `${id}.json`)
}

/**
 * Makes sure the log file can be written before the container is created, and records it: an explicit
 * path's directory must exist and be private; the default root is created (0700). The file is created if
 * missing (0600: logs may hold secrets), appended to otherwise (then ctr never rotates or removes it).
 */
export async function prepareLog(namespace: string, id: string, options: LogOptions = {}): Promise<PreparedLog> {
  if (!isIdentifier(id)) throw usageError(`invalid container ID "${id}"`)
  const root = options.root ?? logRoot()
  const nsDir = namespaceDir(root, namespace)
  let path = join(nsDir, `${id}.log`)
  if (options.path !== undefined) {
    if (options.path === '') throw usageError('the log path is empty')
    path = resolve(options.path)
    await requirePrivateDir(dirname(path), 'log directory')
    await access(dirname(path), fsConstants.W_OK | fsConstants.X_OK).catch(() => {
      throw new CtrError('permission-denied', `log directory ${dirname(path)} is not writable`)
    })
  }
  await mkdir(nsDir, {recursive: true, mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('permission-denied', `cannot create the log directory ${nsDir}: ${reason(error)} (set ${LOG_DIR_ENV} to a directory of yours)`, {
      cause: error,
    })
  })
  await requirePrivateDir(nsDir, 'log directory')
  const {handle, created} = await openForAppend(path).catch((error: NodeJS.ErrnoException) => {
    if (error instanceof CtrError) throw error
    throw logFileError(path, error)
  })
  await handle.close()
  const maxSize = created ? Math.max(0, options.maxSize ?? 0) : 0
  const record: LogRecord = {path, created, maxSize, maxFiles: Math.max(1, options.maxFiles ?? 1)}
  const recordFile = recordPath(root, namespace, id)
  const discard = async () => {
    await rm(recordFile, {force: true}).catch(() => undefined)
    indexRecord(root, recordFile, undefined)
    if (created) await rm(path, {force: true}).catch(() => undefined)
  }
  await writeRecord(recordFile, record).catch(async (error: NodeJS.ErrnoException) => {
    await discard()
    throw logFileError(recordFile, error)
  })
  indexRecord(root, recordFile, path)
  return {path, stdio: loggerStdio({path, record: recordFile, maxSize: record.maxSize, maxFiles: record.maxFiles}), discard}
}

async function writeRecord(file: string, record: LogRecord): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  const {O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW} = fsConstants
  await writeFile(temp, JSON.stringify(record), {mode: 0o600, flag: O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW})
  await rename(temp, file)
}

async function readRecord(file: string): Promise<LogRecord | undefined> {
  const text = await readFile(file, {encoding: 'utf8', flag: fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW}).catch(() => undefined)
  if (text === undefined) return undefined
  try {
    const record = JSON.parse(text) as LogRecord
    return typeof record.path === 'string' && isAbsolute(record.path) ? record : undefined
  } catch {
    return undefined
  }
}

export interface KnownLog extends LogRecord {
  /** The files, oldest first: path.<n> ... path.1, path. */
  files: string[]
}

/**
 * The log ctr keeps for this container, or why there is none it can vouch for: its record must name the
 * path the container's label names (a label alone is anybody's), in a private directory. A container
 * started before records existed is accepted only with its default path under the root.
 */
export async function knownLog(namespace: string, id: string, labels: Record<string, string>, root: string = logRoot()): Promise<KnownLog | string> {
  const labelled = labels[LOG_LABEL]
  if (!labelled) return 'has no log ctr knows of (started attached, without a log, or by another tool)'
  const nsDir = namespaceDir(root, namespace)
  const record =
    (await readRecord(recordPath(root, namespace, id))) ??
    (labelled === join(nsDir, `${id}.log`) ? {path: labelled, created: true, maxSize: 0, maxFiles: 1} : undefined)
  if (!record || record.path !== labelled) return `has a log label, but ctr has no record of making ${labelled} for it (not read or removed)`
  const unsafe = await privateDirProblem(nsDir)
  if (unsafe) return `has a log in a directory that is not safe to use: ${unsafe}`
  const dirProblem = await privateDirProblem(dirname(record.path))
  if (dirProblem) return `has a log in a directory that is not safe to use: ${dirProblem}`
  const files = [record.path]
  for (let n = 1; n < record.maxFiles; n++) files.unshift(`${record.path}.${n}`)
  return {...record, files}
}

/**
 * The stdio of a new task of a container whose log ctr keeps (a restart, or a start of a stopped one): the
 * same file and record, appended to, with `note` written first as one line (so `logs` shows the restart).
 * undefined when the container has no log label (started without one); a log ctr cannot vouch for is an error.
 */
export async function reopenLog(
  namespace: string,
  id: string,
  labels: Record<string, string>,
  note?: string,
  root: string = logRoot(),
): Promise<{path: string; stdio: StdioPaths} | undefined> {
  if (!labels[LOG_LABEL]) return undefined
  const log = await knownLog(namespace, id, labels, root)
  if (typeof log === 'string') throw new CtrError('failed-precondition', `container "${id}" ${log}`)
  if (note !== undefined) {
    const {handle} = await openForAppend(log.path).catch((error: NodeJS.ErrnoException) => {
      if (error instanceof CtrError) throw error
      throw logFileError(log.path, error)
    })
    try {
      await handle.write(`${note}\n`)
    } finally {
      await handle.close()
    }
  }
  const record = recordPath(root, namespace, id)
  return {path: log.path, stdio: loggerStdio({path: log.path, record, maxSize: log.maxSize, maxFiles: log.maxFiles})}
}

/**
 * Removes the container's log if ctr created it and no other container's record names it, and the record;
 * a log already gone is fine. Returns the path removed.
 */
/**
 * One removal at a time in this process: deleting several containers runs concurrently, and two whose
 * records name the same file would each see the other's record and both keep the file.
 */
let removals: Promise<unknown> = Promise.resolve()

export function removeLog(namespace: string, id: string, labels: Record<string, string>, root: string = logRoot()): Promise<string | undefined> {
  const removal = removals.then(() => removeLogNow(namespace, id, labels, root))
  removals = removal.catch(() => undefined)
  return removal
}

async function removeLogNow(namespace: string, id: string, labels: Record<string, string>, root: string): Promise<string | undefined> {
  const log = await knownLog(namespace, id, labels, root)
  if (typeof log === 'string') return undefined
  const own = recordPath(root, namespace, id)
  const removable = log.created && !(await namedElsewhere(root, log.path, own))
  if (removable) {
    for (const file of log.files) {
      await rm(file, {force: true}).catch((error: NodeJS.ErrnoException) => {
        throw new CtrError('permission-denied', `the container was deleted but its log ${file} could not be removed: ${reason(error)}`, {cause: error})
      })
    }
  }
  await rm(own, {force: true}).catch(() => undefined)
  indexRecord(root, own, undefined)
  return removable ? log.path : undefined
}

/**
 * Every record under a root (record file → the path it names), read once per process: deleting many
 * containers (prune) asks for each one, and reading every record each time was quadratic. This process's own
 * record writes and removals keep it current.
 */
const recordIndexes = new Map<string, Promise<Map<string, string>>>()

function recordIndex(root: string): Promise<Map<string, string>> {
  let index = recordIndexes.get(root)
  if (!index) {
    index = (async () => {
      const paths = new Map<string, string>()
      for (const ns of await readdir(root).catch(() => [] as string[])) {
        for (const name of await readdir(join(root, ns)).catch(() => [] as string[])) {
          if (!name.endsWith('.json')) continue
          const record = await readRecord(join(root, ns, name))
          if (record) paths.set(join(root, ns, name), record.path)
        }
      }
      return paths
    })()
    recordIndexes.set(root, index)
  }
  return index
}

/** Keeps an index already read in step with a record this process wrote (path) or removed (undefined). */
function indexRecord(root: string, file: string, path: string | undefined): void {
  void recordIndexes.get(root)?.then((index) => (path === undefined ? index.delete(file) : index.set(file, path)))
}

/** Whether a record other than `except`, in any namespace under root, names `path` (a shared log file). */
async function namedElsewhere(root: string, path: string, except: string): Promise<boolean> {
  for (const [file, named] of await recordIndex(root)) if (file !== except && named === path) return true
  return false
}

function logFileError(path: string, error: NodeJS.ErrnoException): CtrError {
  if (error.code === 'ELOOP') return new CtrError('permission-denied', `the log file ${path} is a symbolic link: not followed`, {cause: error})
  return new CtrError(
    error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS' ? 'permission-denied' : 'usage',
    `cannot write the log file ${path}: ${reason(error)}`,
    {cause: error},
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
