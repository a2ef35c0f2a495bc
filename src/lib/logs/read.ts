/**
 * Reading a container's log file (files.ts decides where it goes; the container's label says where it is):
 * all of it, its last lines, and following it while the task runs. containerd's shim appends plain bytes (no
 * framing, no timestamps), so following is watching the file grow: inotify (fs.watch) to wake early, a poll
 * as the fallback, and after the task's exit a short drain, since the shim still copies what the process
 * wrote last.
 */
import {watch, type FSWatcher} from 'node:fs'
import {open, stat} from 'node:fs/promises'

import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {LOG_LABEL} from './files'

/** How long output may keep arriving after the process exited (the shim copies its pipes after the exit). */
export const FOLLOW_DRAIN_MS = 2000
const POLL_MS = 250

/** The log file ctr keeps for the container; a one-line error when there is none. */
export async function containerLogPath(client: ContainerdClient, id: string): Promise<string> {
  const {labels} = await requireContainer(client, id)
  const path = labels[LOG_LABEL]
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
