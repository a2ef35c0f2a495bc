/**
 * Reading a container's log file (files.ts decides where it goes and vouches for it: its record, not the
 * label alone; files are opened without following symlinks): all of it (older rotated files first), its last lines, and following it while the task runs. containerd's shim appends plain bytes (no
 * framing, no timestamps), so following is watching the file grow: inotify (fs.watch) to wake early, a poll
 * as the fallback, and after the task's exit a short drain, since the shim still copies what the process
 * wrote last.
 */
import {watch, type FSWatcher} from 'node:fs'
import {stat, statfs, type FileHandle} from 'node:fs/promises'

import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {openForRead} from '../private-paths'
import {type KnownLog, knownLog, logRoot} from './files'
import {refuseOverSsh} from '../ssh/remote'

/** How long output may keep arriving after the process exited (the shim copies its pipes after the exit). */
export const FOLLOW_DRAIN_MS = 2000
const POLL_MS = 250

/** The log ctr keeps for the container (its record vouches for it); a one-line error when there is none. */
export async function containerLog(client: ContainerdClient, id: string, root: string = logRoot()): Promise<KnownLog> {
  refuseOverSsh(client, 'logs', 'the log file is written')
  const {labels} = await requireContainer(client, id)
  const log = await knownLog(client.namespace, id, labels, root)
  if (typeof log === 'string') throw new CtrError('not-found', `container "${id}" ${log}`)
  const info = await stat(log.path).catch(() => undefined)
  if (!info?.isFile()) throw new CtrError('not-found', `the log of container "${id}" is gone: ${log.path}`)
  return log
}

/** Why the log may lack output: what the writer recorded losing, or its file system being full now. */
export async function logGaps(log: KnownLog): Promise<string | undefined> {
  if (log.lost) return `${log.lost.bytes} bytes of output were lost between ${log.lost.first} and ${log.lost.last} (${log.lost.reason})`
  const fs = await statfs(log.path).catch(() => undefined)
  if (fs && fs.bfree === 0) return `the file system holding ${log.path} is full: new output is being lost`
  return undefined
}

/** The size of the blocks --tail reads backwards and the copy reads forwards: what reading a log holds. */
export const LOG_BLOCK = 64 * 1024

/**
 * Opens a log file for reading: the one place a log's path is opened. Everything after works on the handle
 * (the path is only watched, to wake a follower early).
 */
export function openLogFile(path: string): Promise<FileHandle> {
  return openForRead(path)
}

/**
 * The byte offset where the last `lines` lines of the first `size` bytes of the file begin, as GNU `tail -n`
 * counts them: a final newline ends the last line (it does not begin an empty one), and a last line without
 * one is a line. Reads backwards one block at a time and holds only that block, whatever the lines' length;
 * each block is searched with Buffer.lastIndexOf (memrchr-like, native).
 */
export async function tailStart(handle: FileHandle, size: number, lines: number, options: {blockSize?: number; signal?: AbortSignal} = {}): Promise<number> {
  if (lines <= 0 || size <= 0) return size
  const block = Buffer.allocUnsafe(Math.min(options.blockSize ?? LOG_BLOCK, size))
  let wanted = lines
  let end = size
  while (end > 0) {
    options.signal?.throwIfAborted()
    const from = Math.max(0, end - block.length)
    const length = end - from
    const {bytesRead} = await handle.read(block, 0, length, from)
    if (bytesRead < length) return 0 // the file shrank under us (someone truncated it): what is left, from the start
    // The file's final newline (if any) is the end of the last line, not a line of its own.
    let i = end === size && block[length - 1] === 0x0a ? length - 2 : length - 1
    while (i >= 0) {
      i = block.lastIndexOf(0x0a, i)
      if (i < 0) break
      if (--wanted === 0) return from + i + 1
      i--
    }
    end = from
  }
  return 0 // fewer lines than asked: all of them
}

export interface ReadLogOptions {
  /** Older (rotated) files, oldest first, printed whole before the file when there is no tail. */
  older?: readonly string[]
  /** Only the last N lines (of what is there when the call begins). */
  tail?: number
  /** Keep printing what is appended until `until` settles (then drain what the shim still writes). */
  follow?: {until: Promise<unknown>}
  /**
   * Receives the bytes; awaited, so a slow reader holds the copy back. The chunk is lent: its memory is
   * read into again once the promise resolves (copy it to keep it), so a copy of any size holds one block.
   */
  write: (chunk: Buffer) => Promise<void>
  signal?: AbortSignal
}

/** Copies the log at `path` to `write` (readOpenLog on the file openLogFile opens, closed again after). */
export async function readLog(path: string, options: ReadLogOptions): Promise<void> {
  if (options.tail === undefined) {
    for (const file of options.older ?? []) {
      const older = await openLogFile(file).catch(() => undefined) // rotated away meanwhile, or never there
      if (!older) continue
      try {
        await copy(older, 0, (await older.stat()).size, Buffer.allocUnsafe(LOG_BLOCK), options)
      } finally {
        await older.close()
      }
    }
  }
  const handle = await openLogFile(path)
  try {
    await readOpenLog(handle, path, options)
  } finally {
    await handle.close()
  }
}

/**
 * Copies an open log to `write`: all of it or its tail, then (follow) what is appended until `until` settles.
 * Memory is a block or two whatever the file's size and its lines' length. The file is only read through
 * `handle`; `path` is only watched (inotify) to notice appends early.
 */
export async function readOpenLog(handle: FileHandle, path: string, options: ReadLogOptions): Promise<void> {
  const {size} = await handle.stat()
  let offset = options.tail === undefined ? 0 : await tailStart(handle, size, options.tail, {signal: options.signal})
  // One buffer for every copy: a fresh one per block (as a ReadStream makes) is garbage the GC only collects
  // once tens of MiB of it have piled up, which doubled the peak RSS of printing a big log.
  const block = Buffer.allocUnsafe(LOG_BLOCK)
  let reading = handle // the file at `path` when it began; the writer may rotate it away meanwhile
  const copyRange = (from: number, to: number) => copy(reading, from, to, block, options)
  offset = await copyRange(offset, size)
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
      const current = await reading.stat()
      if (current.nlink === 0) return // deleted meanwhile (containers delete): nothing more will come
      if (current.size < offset) offset = 0 // truncated by someone: start over, as tail -F does
      const before = offset
      offset = await copyRange(offset, current.size)
      // Rotated (the writer closes a file before renaming it): what it held is out; go on with the new one.
      const named = await stat(path).catch(() => undefined)
      if (named && named.ino !== current.ino) {
        const next = await openLogFile(path).catch(() => undefined)
        if (next) {
          if (reading !== handle) await reading.close()
          reading = next
          offset = 0
          continue
        }
      }
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
    if (reading !== handle) await reading.close()
  }
}

/** Copies bytes [from, to) of the file through `block`, each block written before the next is read. */
async function copy(handle: FileHandle, from: number, to: number, block: Buffer, options: ReadLogOptions): Promise<number> {
  let offset = from
  while (offset < to) {
    options.signal?.throwIfAborted()
    const {bytesRead} = await handle.read(block, 0, Math.min(block.length, to - offset), offset)
    if (bytesRead === 0) break // truncated meanwhile
    await options.write(block.subarray(0, bytesRead))
    offset += bytesRead
  }
  return offset
}
