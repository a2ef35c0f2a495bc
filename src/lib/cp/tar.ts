/**
 * `cp`'s two halves, both tar (tar-stream), as docker cp: a tree under a root packed into an archive, and an
 * archive unpacked into a directory under a root. Modes, numeric owners, mtimes, symlinks and hard links
 * are kept; device nodes, FIFOs and sockets are skipped (Node cannot mknod), and counted.
 *
 * Packing reads every file through a descriptor opened on its directory's descriptor with O_NOFOLLOW (and
 * O_NONBLOCK, so a FIFO swapped in is never waited on) and checked by fstat; unpacking looks every entry's
 * directory up inside the root (in-root.ts) and creates the last name with O_EXCL | O_NOFOLLOW, lchown and
 * lutimes, so neither follows a symlink the container planted out of it.
 */
import {constants as fsConstants, type Stats} from 'node:fs'
import {type FileHandle, link, lchown, lstat, lutimes, mkdir, open, readdir, readlink, rmdir, symlink, unlink} from 'node:fs/promises'
import {Readable} from 'node:stream'
import type * as TarStream from 'tar-stream'

/** A header to write (tar-stream fills in what is left out). */
type Header = Partial<TarStream.Header> & {name: string}

import {CtrError} from '../containerd/errors'
import {readArchive} from '../images/archive'
import {atFd, type Found, joinPath, O_DIRECTORY, O_NOFOLLOW, ofFd, RootDir} from '../containers/in-root'

const {O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NONBLOCK} = fsConstants

export interface PackResult {
  /** Special files (devices, FIFOs, sockets) left out. */
  skipped: number
}

/**
 * The archive of what `found` names, as a stream: its entries are named `top` and below (`top/...`), or,
 * without `top`, only what a directory holds (docker's `SRC/.`). The stream fails if reading fails.
 */
export function packTree(found: Found, top: string | undefined, signal?: AbortSignal): {stream: Readable; done: Promise<PackResult>} {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pack = (require('tar-stream') as typeof TarStream).pack()
  const result: PackResult = {skipped: 0}
  /** Hard links: the first name packed for each inode with more than one link. */
  const inodes = new Map<string, string>()
  const add = (header: Header, data?: string) =>
    new Promise<void>((resolve, reject) => pack.entry(header, data ?? '', (error) => (error ? reject(error) : resolve())))

  const header = (name: string, stats: Stats): Header => ({
    name,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: stats.mtime,
  })

  /** One node: `path` opens it (a name in a held directory, or /proc/self/fd/N for the root). */
  const walk = async (path: string, nofollow: number, stats: Stats, name: string): Promise<void> => {
    signal?.throwIfAborted()
    if (stats.isDirectory()) {
      if (name) await add({...header(`${name}/`, stats), type: 'directory'})
      const dir = await open(path, O_RDONLY | O_DIRECTORY | nofollow)
      try {
        for (const child of (await readdir(ofFd(dir))).sort()) {
          const at = atFd(dir, child)
          const info = await lstat(at).catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return undefined // removed meanwhile
            throw error
          })
          if (info) await walk(at, O_NOFOLLOW, info, name ? `${name}/${child}` : child)
        }
      } finally {
        await dir.close()
      }
    } else if (stats.isSymbolicLink()) {
      await add({...header(name, stats), type: 'symlink', linkname: await readlink(path)})
    } else if (stats.isFile()) {
      const file = await open(path, O_RDONLY | O_NONBLOCK | nofollow)
      try {
        const info = await file.stat()
        if (!info.isFile()) return void result.skipped++
        const inode = `${info.dev}:${info.ino}`
        const first = info.nlink > 1 ? inodes.get(inode) : undefined
        if (first !== undefined) return void (await add({...header(name, info), type: 'link', linkname: first, size: 0}))
        if (info.nlink > 1) inodes.set(inode, name)
        const head: Header = {...header(name, info), type: 'file', size: info.size}
        if (info.size === 0) return void (await add(head))
        let sink!: NodeJS.WritableStream
        const written = new Promise<void>((resolve, reject) => {
          // tar-stream's entry is a streamx Writable: write, 'drain' and end as Node's.
          sink = pack.entry(head, (error) => (error ? reject(error) : resolve())) as unknown as NodeJS.WritableStream
        })
        // The entry's failure (a pack destroyed by an interrupt) reaches `written`; unheard, its 'error' event killed ctr.
        sink.on('error', () => undefined)
        written.catch(() => undefined)
        // Exactly the size in the header: a file that grew meanwhile is cut there, one that shrank fails.
        let copied = 0
        for await (const chunk of file.createReadStream({start: 0, end: info.size - 1, autoClose: false})) {
          copied += (chunk as Buffer).length
          if (!sink.write(chunk as Buffer)) await new Promise((resolve) => sink.once('drain', resolve))
        }
        if (copied !== info.size) {
          throw new CtrError(
            'failed-precondition',
            `cannot copy ${name || 'the file'}: it has ${copied} bytes where its size said ${info.size} (it shrank, or is not an ordinary file)`,
          )
        }
        sink.end()
        await written
      } finally {
        await file.close()
      }
    } else {
      result.skipped++
    }
  }

  // The top by its name in its held directory (a symlink's text cannot be read through its descriptor); the
  // root itself, which has no name, through its descriptor.
  const start = found.name
    ? walk(atFd(found.dir, found.name), O_NOFOLLOW, found.file!.stats, top ?? '')
    : walk(ofFd(found.file!.handle), 0, found.file!.stats, top ?? '')
  const done = start.then(
    () => {
      pack.finalize()
      return result
    },
    (error: unknown) => {
      const failure = error instanceof CtrError ? error : readFailure(error)
      pack.destroy(failure)
      throw failure
    },
  )
  // The stream's reader reports the failure; this keeps it from being unhandled meanwhile.
  done.catch(() => undefined)
  // A Node stream for the reader (readArchive, a consumer's for-await); destroying it stops the packing.
  const stream = Readable.from(pack as AsyncIterable<Buffer>)
  stream.on('close', () => pack.destroy())
  return {stream, done}
}

function readFailure(error: unknown): CtrError {
  const e = error as NodeJS.ErrnoException
  return new CtrError('internal', `cannot read ${e.path ?? ''}: ${e.code ?? e.message}`.replace(/ : /, ': '), {cause: error})
}

export interface UnpackOptions {
  /** Owner of everything unpacked; undefined: the archive's. */
  owner?: {uid: number; gid: number}
  /** Clear set-user-ID and set-group-ID bits (what comes out of a container without -a). */
  dropSetId?: boolean
  signal?: AbortSignal
  /** Names the archive in errors: `stdin`, `the copy`. */
  label: string
}

/**
 * Unpacks `input` into the directory `dir` (a path inside `root`, symlinks resolved): entries may not leave
 * it (`..`); an existing file, symlink or empty directory of the same name is replaced, an existing
 * directory is merged into, a directory is never replaced by a file. Directory modes and mtimes are set
 * last, so a read-only directory still gets its files.
 */
export async function unpackInto(root: RootDir, dir: string, input: Readable, options: UnpackOptions): Promise<{entries: number; skipped: number}> {
  const dirs: {path: string; mode: number; mtime?: Date}[] = []
  let entries = 0
  let skipped = 0
  // An interrupt ends a read that waits on the input (stdin that does not end).
  const stop = () => input.destroy(options.signal?.reason as Error)
  options.signal?.addEventListener('abort', stop, {once: true})
  try {
    for await (const entry of readArchive(input, options.label)) {
      options.signal?.throwIfAborted()
      const {header} = entry
      const parts = header.name.split('/').filter((part: string) => part !== '' && part !== '.')
      if (parts.includes('..')) throw new CtrError('usage', `${options.label}: entry "${header.name}" would leave the destination`)
      if (parts.length === 0) {
        if (entry.kind === 'file') for await (const _ of entry.data);
        continue
      }
      entries++
      const path = joinPath(dir, parts.join('/'))
      const found = await root.lookup(path)
      try {
        const owner = options.owner ?? {uid: header.uid ?? 0, gid: header.gid ?? 0}
        const mode = (header.mode ?? 0o644) & (options.dropSetId ? 0o1777 : 0o7777)
        const at = atFd(found.dir, found.name)
        const existing = found.file?.stats
        const replace = async (keepDir: boolean) => {
          if (!existing) return
          if (existing.isDirectory()) {
            if (keepDir) return
            // An empty directory goes (tar does so); one with files is never replaced by a file.
            await rmdir(at).catch((error: NodeJS.ErrnoException) => {
              throw new CtrError('failed-precondition', `cannot overwrite directory ${found.path} in ${root.label} with a non-directory (${error.code})`)
            })
          } else await unlink(at)
        }
        if (entry.kind === 'file') {
          await replace(false)
          const file = await open(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
          try {
            for await (const chunk of entry.data) {
              options.signal?.throwIfAborted()
              await file.write(chunk)
            }
            await file.chown(owner.uid, owner.gid)
            await file.chmod(mode)
            if (header.mtime) await file.utimes(header.mtime, header.mtime)
          } finally {
            await file.close()
          }
        } else if (entry.kind === 'symlink') {
          await replace(false)
          await symlink(entry.target, at)
          await lchown(at, owner.uid, owner.gid)
          if (header.mtime) await lutimes(at, header.mtime, header.mtime)
        } else if (header.type === 'directory') {
          await replace(true)
          if (!existing?.isDirectory()) await mkdir(at, 0o700)
          await lchown(at, owner.uid, owner.gid)
          dirs.push({path, mode, mtime: header.mtime})
        } else if (header.type === 'link') {
          const targetParts = (header.linkname ?? '').split('/').filter((part: string) => part !== '' && part !== '.')
          if (targetParts.length === 0 || targetParts.includes('..')) {
            throw new CtrError('usage', `${options.label}: hard link "${header.name}" -> "${header.linkname}" would leave the destination`)
          }
          const target = await root.lookup(joinPath(dir, targetParts.join('/')))
          try {
            if (!target.file || target.file.stats.isDirectory()) {
              throw new CtrError('usage', `${options.label}: hard link "${header.name}" to "${header.linkname}", which is not a file in it`)
            }
            await replace(false)
            await link(atFd(target.dir, target.name), at)
          } finally {
            await target.close()
          }
        } else {
          entries--
          skipped++
        }
      } catch (error) {
        throw writeFailure(error, found.path, root.label)
      } finally {
        await found.close()
      }
    }
    // Deepest first, so setting a parent's mtime is not undone by a child's.
    for (const d of dirs.reverse()) {
      const found = await root.lookup(d.path)
      try {
        if (!found.file?.stats.isDirectory()) continue
        const handle: FileHandle = await open(atFd(found.dir, found.name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try {
          await handle.chmod(d.mode)
          if (d.mtime) await handle.utimes(d.mtime, d.mtime)
        } finally {
          await handle.close()
        }
      } finally {
        await found.close()
      }
    }
    return {entries, skipped}
  } finally {
    options.signal?.removeEventListener('abort', stop)
  }
}

function writeFailure(error: unknown, path: string, where: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code
  if (error instanceof CtrError || !code) return error
  const why =
    code === 'EROFS' ? 'read-only file system' : code === 'ENOSPC' ? 'no space left' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code
  return new CtrError(code === 'EROFS' || code === 'ENOSPC' ? 'failed-precondition' : 'internal', `cannot write ${path} in ${where}: ${why}`, {cause: error})
}
