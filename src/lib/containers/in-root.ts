/**
 * Paths looked up inside a root directory as if it were `/` (docker's symlink.FollowSymlinkInScope): a
 * container's root for `cp` (or the host's `/` for the host side, with the same rules), the /etc/passwd and
 * /etc/group of a container or image for user names (tasks/users.ts), a volume's path in its image
 * (volumes/fill.ts). The one resolver of paths inside a root. Node has no openat2
 * (RESOLVE_IN_ROOT), so each component is opened on the directory descriptor held for the one before it
 * (openat emulated through /proc/self/fd/N/NAME, O_PATH | O_NOFOLLOW); a symlink met on the way is read and
 * its text resolved again from here, an absolute one from the root, `..` never above the root. What is
 * found is a held descriptor, so a name swapped after the lookup changes nothing already found.
 *
 * What remains: a caller that acts on a name (creates, unlinks, links) acts on NAME in a held directory, so
 * a symlink planted there meanwhile is never followed (O_NOFOLLOW, O_EXCL, lchown, lutimes), but a
 * directory of the container moved elsewhere inside the container while ctr works is followed there: still
 * inside the root, which is the guarantee.
 */
import {constants as fsConstants, type Stats} from 'node:fs'
import {type FileHandle, open, readlink} from 'node:fs/promises'

import {CtrError} from '../containerd/errors'

// O_PATH (Linux, not in Node's fs.constants): a descriptor that names a file without opening it, so a device
// node or FIFO met on the way is never opened. Numbers as in the kernel's asm-generic/fcntl.h.
export const O_PATH = 0o10000000
const {O_DIRECTORY, O_NOFOLLOW} = fsConstants
/** Symlinks followed in one lookup before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40

/** A name inside a held directory, for the path-taking fs calls: the kernel looks NAME up in that directory. */
export const atFd = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`
/** The file a descriptor holds (reopening it through /proc follows the magic link to that very file). */
export const ofFd = (file: FileHandle): string => `/proc/self/fd/${file.fd}`

/** What a lookup found: the directory it ends in, the last name there, and the file if it exists. */
export interface Found {
  /** The directory holding `name` (the root itself for `/`). */
  dir: FileHandle
  /** The last component ('' for the root itself). */
  name: string
  /** The path of `dir` inside the root, symlinks resolved (`/` for the root). */
  dirPath: string
  /** The file, when it exists: its descriptor (O_PATH) and what fstat says of it. */
  file?: {handle: FileHandle; stats: Stats}
  /** `dirPath` + `name`: where the file is, in the root's terms. */
  path: string
  close(): Promise<void>
}

export class RootDir {
  private constructor(
    readonly handle: FileHandle,
    /** Words for errors: `container "web"` or `the host`. */
    readonly label: string,
    /**
     * Apply the kernel's fs.protected_symlinks rule, which resolving links here would otherwise bypass: a
     * link in a sticky, world-writable directory (/tmp) is followed only if ctr's user or the directory's
     * owner owns it. For the host's `/`, where another user may plant links; inside a container every link
     * stays inside its root anyway.
     */
    private readonly protectedSymlinks = false,
  ) {}

  /** Opens a root: /proc/PID/root, a mount ctr made, `/`. The path itself is trusted (followed). */
  static async open(path: string, label: string, options: {protectedSymlinks?: boolean} = {}): Promise<RootDir> {
    return new RootDir(await open(path, O_PATH | O_DIRECTORY), label, options.protectedSymlinks)
  }

  static of(handle: FileHandle, label: string): RootDir {
    return new RootDir(handle, label)
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined)
  }

  /**
   * Looks `path` up inside the root. The last component is followed when it is a symlink only with
   * `follow` (or a trailing `/`). A missing last component is no error (no `file`); a missing directory on
   * the way is a not-found error, a file on the way is not a directory.
   */
  async lookup(path: string, options: {follow?: boolean} = {}): Promise<Found> {
    const held: FileHandle[] = []
    const closeAll = async () => {
      await Promise.all(held.map((h) => h.close().catch(() => undefined)))
    }
    const dirs: {handle: FileHandle; name: string}[] = [{handle: this.handle, name: ''}]
    const rest = path.split('/').reverse()
    const follow = Boolean(options.follow) || /\/\.?$/.test(path)
    const onlyEmpty = () => rest.every((part) => part === '' || part === '.')
    const dirPath = () =>
      `/${dirs
        .slice(1)
        .map((d) => d.name)
        .join('/')}`
    let links = 0
    try {
      for (;;) {
        const name = rest.pop()
        if (name === undefined) {
          // Ended on a directory (or the root): it is the file found, named in its parent.
          const self = dirs.length > 1 ? dirs.pop()! : undefined
          const parent = dirs.at(-1)!.handle
          const handle = self ? self.handle : this.handle
          const stats = await handle.stat()
          const found = {dir: parent, name: self?.name ?? '', dirPath: dirPath(), file: {handle, stats}}
          return {...found, path: joinPath(found.dirPath, found.name), close: closeAll}
        }
        if (name === '' || name === '.') continue
        if (name === '..') {
          if (dirs.length > 1) dirs.pop()
          continue
        }
        const top = dirs.at(-1)!.handle
        const last = onlyEmpty()
        const handle = await open(atFd(top, name), O_PATH | O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' && last) return undefined
          throw this.fsError(error, path)
        })
        if (!handle) return {dir: top, name, dirPath: dirPath(), path: joinPath(dirPath(), name), close: closeAll}
        held.push(handle)
        const stats = await handle.stat()
        if (stats.isSymbolicLink() && (!last || follow)) {
          if (++links > MAX_LINKS) throw new CtrError('invalid-argument', `too many levels of symbolic links in ${this.label}: ${path}`)
          if (this.protectedSymlinks) await this.refuseProtectedLink(top, stats, joinPath(dirPath(), name))
          // The link's text is only a path to resolve again here, so its changing meanwhile is harmless.
          // A link that cannot be read (the container's /proc/self, seen from outside its PID namespace) is an error about `path`.
          const target = await readlink(atFd(top, name)).catch((error: NodeJS.ErrnoException) => {
            throw this.fsError(error, path)
          })
          if (target.startsWith('/')) dirs.length = 1
          rest.push(...target.split('/').reverse())
        } else if (stats.isDirectory()) {
          dirs.push({handle, name})
        } else if (last) {
          return {dir: top, name, dirPath: dirPath(), file: {handle, stats}, path: joinPath(dirPath(), name), close: closeAll}
        } else {
          throw new CtrError('invalid-argument', `not a directory in ${this.label}: ${path}`)
        }
      }
    } catch (error) {
      await closeAll()
      throw error
    }
  }

  /** The kernel's may_follow_link, for a link `at` whose directory is `dir` (protectedSymlinks). */
  private async refuseProtectedLink(dir: FileHandle, link: Stats, at: string): Promise<void> {
    const parent = await dir.stat()
    const stickyWorldWritable = (parent.mode & 0o1002) === 0o1002
    const self = process.geteuid?.() ?? 0
    if (!stickyWorldWritable || link.uid === self || link.uid === parent.uid) return
    throw new CtrError(
      'permission-denied',
      `refusing to follow ${at} on ${this.label}: a symlink of another user (uid ${link.uid}) in a sticky world-writable directory`,
    )
  }

  /**
   * A regular file's content at `path` in the root (symlinks followed inside it), at most `maxBytes`;
   * undefined when there is none there, it is not a regular file (a FIFO is never opened), or the way to it
   * fails (a link loop, a file where a directory should be).
   */
  async readRegular(path: string, maxBytes: number): Promise<Buffer | undefined> {
    const found = await this.lookup(path, {follow: true}).catch(() => undefined)
    if (!found) return undefined
    try {
      if (!found.file?.stats.isFile()) return undefined
      // Opened again through its descriptor: the very file checked, whatever its name points at now.
      const file = await reopen(found.file.handle, fsConstants.O_RDONLY)
      try {
        const buffer = Buffer.alloc(Math.min(found.file.stats.size, maxBytes))
        const {bytesRead} = await file.read(buffer, 0, buffer.length, 0)
        return buffer.subarray(0, bytesRead)
      } finally {
        await file.close()
      }
    } finally {
      await found.close()
    }
  }

  private fsError(error: NodeJS.ErrnoException, path: string): CtrError {
    if (error.code === 'ENOENT') return new CtrError('not-found', `no such file or directory in ${this.label}: ${path}`, {cause: error})
    if (error.code === 'ENOTDIR') return new CtrError('invalid-argument', `not a directory in ${this.label}: ${path}`, {cause: error})
    return new CtrError('internal', `cannot look up ${path} in ${this.label}: ${error.code ?? error.message}`, {cause: error})
  }
}

/** A root opened on first use and once only (a start's user names and volume fills share it); then closed. */
export class LazyRoot {
  private opened?: Promise<RootDir>
  constructor(private readonly opener: () => Promise<RootDir>) {}

  get(): Promise<RootDir> {
    this.opened ??= this.opener()
    return this.opened
  }

  async close(): Promise<void> {
    const opened = this.opened
    this.opened = undefined
    if (opened) await (await opened.catch(() => undefined))?.close()
  }
}

export function joinPath(dir: string, name: string): string {
  if (!name) return dir
  return dir === '/' ? `/${name}` : `${dir}/${name}`
}

/** Reopens what a lookup found with real access (O_PATH descriptors cannot be read). */
export async function reopen(file: FileHandle, flags: number): Promise<FileHandle> {
  return open(ofFd(file), flags)
}

export {O_DIRECTORY, O_NOFOLLOW}
