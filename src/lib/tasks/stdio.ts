/**
 * The FIFOs containerd's shim copies a process's stdio through (docs/containerd.md "Stdio and FIFOs"):
 * - made with mkfifo in a private 0700 directory with an unpredictable name (fs.mkdtemp), removed on close();
 *   its name also carries the maker's owner token, so a later ctr removes those of a SIGKILLed one;
 * - read ends opened O_RDONLY|O_NONBLOCK and read through net.Socket (epoll-driven: no threadpool thread is
 *   parked, no early EOF before the shim connects), and opened BEFORE Tasks.Create/Exec, which otherwise hangs;
 * - the stdin write end held O_RDWR|O_NONBLOCK, so opening it never blocks; the process then sees EOF only
 *   after Tasks.CloseIO (the shim keeps its own writer until told).
 * This module knows nothing about ctr's own stdio: attach.ts wires these to it.
 */
import {execFile} from 'node:child_process'
import {accessSync, closeSync, constants as fsConstants, openSync, rmSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {CtrError} from '../containerd/errors'
import {deadOwnersDirs, ownerToken} from '../owner'

const {O_NONBLOCK, O_RDONLY, O_RDWR} = fsConstants

/**
 * The system's mkfifo by absolute path: looked up in PATH, a `mkfifo` planted earlier in it would run with
 * ctr's privileges (often root). Node has no mkfifo(2) binding; coreutils' is in /usr/bin (merged /usr) or /bin.
 */
export const MKFIFO_CANDIDATES = ['/usr/bin/mkfifo', '/bin/mkfifo']

function mkfifoPath(): string {
  for (const path of MKFIFO_CANDIDATES) {
    try {
      accessSync(path, fsConstants.X_OK)
      return path
    } catch {
      // next
    }
  }
  throw new CtrError('internal', `cannot create stdio FIFOs: no mkfifo at ${MKFIFO_CANDIDATES.join(' or ')} (install coreutils)`)
}

/**
 * FIFO directories not yet removed, deleted synchronously at process exit: also when ctr exits at once (a
 * second Ctrl-C, process.exit) before close() could run. One 'exit' listener for all of them.
 */
const liveDirs = new Set<string>()
let exitHook = false
function removeAtExit(dir: string): () => void {
  liveDirs.add(dir)
  if (!exitHook) {
    exitHook = true
    process.on('exit', () => {
      for (const d of liveDirs) rmSync(d, {recursive: true, force: true})
    })
  }
  return () => void liveDirs.delete(dir)
}

const FIFO_DIR_PREFIX = 'ctr-io-'
/** `ctr-io-<owner token>-XXXXXX`: the token (src/lib/owner.ts) says whether the ctr that made it still runs. */
const FIFO_DIR = /^ctr-io-(\d+\.\d+\.\d+)-[A-Za-z0-9]{6}$/

/**
 * Removes the FIFO directories in `parent` that ctr processes killed with SIGKILL (no exit hook ran) left:
 * only those named for a dead owner that are real directories (lstat: a symlink is never followed), owned by
 * this user and private (0700): never one another user could have planted. Resolves with the paths removed.
 */
export async function removeDeadFifoDirs(parent: string = tmpdir()): Promise<string[]> {
  const removed: string[] = []
  for (const path of await deadOwnersDirs(parent, FIFO_DIR)) {
    await rm(path, {recursive: true, force: true}).then(
      () => removed.push(path),
      () => undefined,
    )
  }
  return removed
}

/** What Tasks.Create and Tasks.Exec take: a path per stream, '' for none. */
export interface StdioPaths {
  stdin: string
  stdout: string
  stderr: string
}

/**
 * No stdio at all: the shim connects the process to nothing (its output is discarded, its stdin is empty).
 * Used for detached processes, which must never block on a FIFO nobody reads (containerd#7289).
 */
export const NULL_STDIO: Readonly<StdioPaths> = Object.freeze({stdin: '', stdout: '', stderr: ''})

export interface FifoOptions {
  /** Names the FIFOs (`<name>-stdout`...): the container or exec ID. */
  name: string
  /** A terminal merges stderr into stdout: no stderr FIFO then. */
  terminal?: boolean
  /** Create a stdin FIFO (default true). */
  stdin?: boolean
  /** Parent of the private directory (default os.tmpdir(), i.e. $TMPDIR). */
  parentDir?: string
}

export interface Fifos {
  /** The private directory holding the FIFOs. */
  readonly dir: string
  /** Paths for Tasks.Create/Exec. */
  readonly paths: StdioPaths
  /** Read end of stdout, already open. */
  readonly stdout: Socket
  /** Read end of stderr, already open; undefined with a terminal. */
  readonly stderr?: Socket
  /** Write end of stdin (never blocks); undefined without stdin. */
  readonly stdin?: Socket
  /** Resolves when every output stream has reached EOF (the shim closed its ends). */
  readonly outputClosed: Promise<void>
  /** Closes every end and removes the directory; safe to call more than once. */
  close(): Promise<void>
}

/** Creates the FIFOs and opens our ends of them. Cleans up after itself if anything fails. */
export async function createFifos(options: FifoOptions): Promise<Fifos> {
  const parent = options.parentDir ?? tmpdir()
  // Those of ctr processes killed before they could remove theirs go first (best effort).
  await removeDeadFifoDirs(parent).catch(() => undefined)
  const owner = ownerToken()
  const dir = await mkdtemp(join(parent, owner ? `${FIFO_DIR_PREFIX}${owner}-` : FIFO_DIR_PREFIX)).catch((error: Error) => {
    throw new CtrError('internal', `cannot create a directory for stdio FIFOs: ${error.message}`, {cause: error})
  })
  const withStdin = options.stdin ?? true
  const paths: StdioPaths = {
    stdin: withStdin ? join(dir, `${options.name}-stdin`) : '',
    stdout: join(dir, `${options.name}-stdout`),
    stderr: options.terminal ? '' : join(dir, `${options.name}-stderr`),
  }
  const sockets: Socket[] = []
  const forget = removeAtExit(dir)
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      for (const socket of sockets) socket.destroy()
      await rm(dir, {recursive: true, force: true})
      forget()
    })())

  try {
    const mkfifo = mkfifoPath()
    await promisify(execFile)(mkfifo, ['-m', '0600', ...[paths.stdin, paths.stdout, paths.stderr].filter(Boolean)], {env: {LC_ALL: 'C'}}).catch(
      (error: Error & {stderr?: string}) => {
        const reason = (error.stderr ?? '').trim().split('\n')[0] || error.message.split('\n')[0]
        throw new CtrError('internal', `cannot create stdio FIFOs in ${dir}: ${mkfifo}: ${reason}`, {cause: error})
      },
    )
    const open = (path: string, flags: number, readable: boolean) => {
      const fd = openSync(path, flags)
      try {
        const socket = new Socket({fd, readable, writable: !readable})
        sockets.push(socket)
        // A reset or EPIPE on one of our ends is the process going away, not ctr's failure.
        socket.on('error', () => undefined)
        return socket
      } catch (error) {
        closeSync(fd)
        throw error
      }
    }
    const stdout = open(paths.stdout, O_RDONLY | O_NONBLOCK, true)
    const stderr = paths.stderr ? open(paths.stderr, O_RDONLY | O_NONBLOCK, true) : undefined
    const stdin = paths.stdin ? open(paths.stdin, O_RDWR | O_NONBLOCK, false) : undefined
    const outputClosed = Promise.all([stdout, stderr].filter((s): s is Socket => s !== undefined).map(closed)).then(() => undefined)
    return {dir, paths, stdout, stderr, stdin, outputClosed, close}
  } catch (error) {
    await close()
    throw error instanceof CtrError ? error : new CtrError('internal', `cannot create stdio FIFOs in ${dir}: ${(error as Error).message}`, {cause: error})
  }
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve()
    else socket.once('close', () => resolve())
  })
}
