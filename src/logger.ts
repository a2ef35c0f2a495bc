/**
 * The log writer of a detached container (dist/logger.js): containerd's shim starts it as the task's
 * `binary://` stdio (docs/containerd.md "Logging a detached container"), as nerdctl's logging driver is
 * started. The shim owns it: it ends with the task, never with ctr. Kept apart from the CLI bundle and
 * importing only Node built-ins, so each costs one small Node process (≈7 MiB private memory).
 *
 * The shim passes the process's stdout as fd 3, its stderr as fd 4, and waits until fd 5 is closed; its
 * environment is only CONTAINER_ID and CONTAINER_NAMESPACE. Its one argument is a LoggerConfig as JSON.
 *
 * Why not the shim's own `file://`: the shim stops copying at the first failed write (a full disk), the
 * process then blocks on its stdout pipe for good, and the file never rotates. Here a failed write drops
 * that output and counts it (the record says so, and `ctr containers logs` reports it), the pipes are
 * always drained, and a file ctr created rotates at maxSize, keeping maxFiles files in all.
 */
import {closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, writeSync} from 'node:fs'
import {Socket} from 'node:net'

import type {LoggerConfig, LostOutput} from './lib/logs/files'

const config = JSON.parse(process.argv[2] ?? '{}') as LoggerConfig
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW
let fd = -1
let size = 0
let lost: LostOutput | undefined
let lostWritten = true

function reopen(): void {
  closeLog()
  fd = openSync(config.path, OPEN_FLAGS, 0o600)
  size = fstatSync(fd).size
}

/** path → path.1 → ... → path.<maxFiles-1>, the oldest dropped; the next write opens a new path. */
function rotate(): void {
  closeLog()
  const name = (n: number) => (n === 0 ? config.path : `${config.path}.${n}`)
  rmSync(name(config.maxFiles - 1), {force: true})
  for (let n = config.maxFiles - 2; n >= 0; n--) {
    try {
      renameSync(name(n), name(n + 1))
    } catch {
      // that one is missing: nothing to shift
    }
  }
}

/** Appends a chunk, rotating before it would pass maxSize: at a line's end where it can, else mid-line. */
function write(chunk: Buffer): void {
  let at = 0
  try {
    while (at < chunk.length) {
      if (fd < 0) reopen()
      let end = chunk.length
      if (config.maxSize > 0 && size + end - at > config.maxSize) {
        const room = config.maxSize - size
        const newline = room > 0 ? chunk.lastIndexOf(0x0a, at + room - 1) : -1
        if (newline >= at) end = newline + 1
        else if (size > 0) {
          rotate()
          continue
        } else end = at + config.maxSize // one line longer than the limit: cut
      }
      while (at < end) {
        const written = writeSync(fd, chunk, at, end - at)
        at += written
        size += written
      }
      if (at < chunk.length) rotate()
    }
  } catch (error) {
    // Dropped, counted and noted: the container must never block on a log it cannot write.
    const now = new Date().toISOString()
    lost = {bytes: (lost?.bytes ?? 0) + chunk.length - at, first: lost?.first ?? now, last: now, reason: (error as Error).message}
    lostWritten = false
    closeLog()
    noteLost()
  }
}

function closeLog(): void {
  if (fd < 0) return
  try {
    closeSync(fd)
  } catch {
    // reopened at the next write
  }
  fd = -1
}

/** Adds `lost` to the record (temp file and rename); retried every second while that fails. */
function noteLost(): void {
  if (lostWritten || !lost) return
  try {
    const record = JSON.parse(readFileSync(config.record, 'utf8')) as Record<string, unknown>
    const temp = `${config.record}.${process.pid}.tmp`
    const out = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600)
    try {
      writeSync(out, JSON.stringify({...record, lost}))
    } finally {
      closeSync(out)
    }
    renameSync(temp, config.record)
    lostWritten = true
  } catch {
    // the disk is still full: the retry timer tries again
  }
}

const retry = setInterval(noteLost, 1000)
retry.unref()

let open = 0
function input(fdNumber: number): void {
  let socket: Socket
  try {
    socket = new Socket({fd: fdNumber, readable: true, writable: false})
  } catch {
    return // no such stream
  }
  open++
  socket.on('data', write)
  socket.on('error', () => undefined)
  socket.on('close', () => {
    if (--open === 0) finish()
  })
}

function finish(): void {
  noteLost()
  closeLog()
  process.exit(0)
}

try {
  reopen()
} catch {
  // written at the first chunk, or counted as lost
}
input(3)
input(4)
try {
  closeSync(5) // ready: the shim goes on with the task
} catch {
  // started by hand
}
// The shim sends SIGTERM when the task is deleted: what is already in the pipes is still written.
process.on('SIGTERM', () => setTimeout(finish, 200))
