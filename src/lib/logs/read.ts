/**
 * Reading a container's log file (files.ts decides where it goes and vouches for it: its record, not the
 * label alone; files are opened without following symlinks): all of it (older rotated files first), its last lines, and following it while the task runs. containerd's shim appends plain bytes (no
 * framing, no timestamps), so following is watching the file grow: inotify (fs.watch) to wake early, a poll
 * as the fallback, and after the task's exit a short drain, since the shim still copies what the process
 * wrote last.
 */
import {watch, type FSWatcher} from 'node:fs'
import {stat, statfs} from 'node:fs/promises'

import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {openForRead} from '../private-paths'
import {type KnownLog, knownLog, logRoot} from './files'

/** How long output may keep arriving after the process exited (the shim copies its pipes after the exit). */
export const FOLLOW_DRAIN_MS = 2000
const POLL_MS = 250

/** The log ctr keeps for the container (its record vouches for it); a one-line error when there is none. */
export async function containerLog(client: ContainerdClient, id: string, root: string = logRoot()): Promise<KnownLog> {
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
  const handle = await openForRead(path)
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
  /** Older (rotated) files, oldest first, printed whole before the file when there is no tail. */
  older?: readonly string[]
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
  if (options.tail === undefined) {
    for (const file of options.older ?? []) {
      const info = await stat(file).catch(() => undefined)
      if (info?.isFile()) await copyRange(file, 0, info.size, options)
    }
  }
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
  const handle = await openForRead(path)
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
