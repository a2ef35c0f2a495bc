/**
 * Paths ctr may write to or read from as root without another user steering it elsewhere: a directory is
 * private when it and every directory above it is a real directory (not a symlink) owned by root or by us,
 * and none but the last is writable by others unless sticky (/tmp: others cannot rename what is ours in it);
 * the last is not writable by group or others at all. Then nobody else can swap a component between the
 * check and the use. Files in it are opened with O_NOFOLLOW and checked on the open descriptor.
 */
import {constants as fsConstants} from 'node:fs'
import {lstat, open, type FileHandle} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import {CtrError} from './containerd/errors'

const GROUP_OTHER_WRITE = 0o022
const STICKY = 0o1000

function euid(): number {
  return process.geteuid?.() ?? 0
}

/** Why `dir` is not private (see the module comment), or undefined when it is. */
export async function privateDirProblem(dir: string): Promise<string | undefined> {
  const me = euid()
  const chain: string[] = []
  for (let at = resolve(dir); ; at = dirname(at)) {
    chain.push(at)
    if (at === dirname(at)) break
  }
  for (const [index, at] of chain.entries()) {
    const info = await lstat(at).catch((error: NodeJS.ErrnoException) => error)
    if (info instanceof Error) return info.code === 'ENOENT' ? `${at} does not exist` : `${at}: ${info.message}`
    if (info.isSymbolicLink()) return `${at} is a symbolic link`
    if (!info.isDirectory()) return `${at} is not a directory`
    if (info.uid !== 0 && info.uid !== me) return `${at} belongs to another user (uid ${info.uid})`
    const last = index === 0
    if (info.mode & GROUP_OTHER_WRITE && (last || !(info.mode & STICKY))) return `${at} is writable by other users`
  }
  return undefined
}

/** Throws a permission-denied CtrError naming `what` when `dir` is not private. */
export async function requirePrivateDir(dir: string, what: string): Promise<void> {
  const problem = await privateDirProblem(dir)
  if (!problem) return
  const absolute = resolve(dir)
  if (problem === `${absolute} does not exist`) throw new CtrError('usage', `${what} ${problem}`)
  throw new CtrError('permission-denied', `${what} ${absolute} is not safe to use: ${problem} (use a directory only root or you can write)`)
}

export interface OpenedFile {
  handle: FileHandle
  /** The file was created by this open. */
  created: boolean
}

/**
 * Opens `path` (in a private directory) for appending without following a symlink: creates it (0600) when
 * missing; an existing one must be a regular file of ours with no other hard link.
 */
export async function openForAppend(path: string): Promise<OpenedFile> {
  const {O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW} = fsConstants
  const created = await open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600).then(
    (handle) => ({handle, created: true}),
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
      return undefined
    },
  )
  if (created) return created
  const handle = await open(path, O_WRONLY | O_APPEND | O_NOFOLLOW)
  await checkOwnFile(handle, path)
  return {handle, created: false}
}

/** Opens an existing file of ours for reading without following a symlink. */
export async function openForRead(path: string): Promise<FileHandle> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)
  await checkOwnFile(handle, path)
  return handle
}

async function checkOwnFile(handle: FileHandle, path: string): Promise<void> {
  const info = await handle.stat()
  const problem = !info.isFile()
    ? 'is not a regular file'
    : info.uid !== 0 && info.uid !== euid()
      ? `belongs to another user (uid ${info.uid})`
      : info.nlink > 1
        ? 'has other hard links'
        : undefined
  if (problem) {
    await handle.close()
    throw new CtrError('permission-denied', `${path} ${problem}: not used`)
  }
}

/** A symlink met by O_NOFOLLOW, as one line. */
export function isSymlinkError(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ELOOP'
}
