/**
 * User and group names for exec's `-u NAME[:GROUP]` and an image's User, resolved in the container's own
 * /etc/passwd and /etc/group (as runc and docker do), read on the host under a root directory: a running
 * task's /proc/PID/root (exec) or a snapshot's layer directories (an image's User). Symlinks in the path
 * are resolved by us, inside that root, one component at a time on held directory descriptors (openat
 * emulated through /proc/self/fd, O_NOFOLLOW): the kernel would resolve an absolute link against ctr's
 * root, the host's, and a path checked first and opened after can be swapped in between.
 */
import {constants as fsConstants} from 'node:fs'
import {type FileHandle, open, readlink, stat} from 'node:fs/promises'

import {CtrError, optionError} from '../containerd/errors'

export interface UserSpec {
  /** A number or a name; undefined: the container's. */
  user?: string
  group?: string
}

/** `-u` text: `UID`, `NAME`, `UID:GID`, `NAME:GROUP`. */
export function parseUserSpec(text: string): UserSpec {
  const [user, group, ...rest] = text.split(':')
  const name = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/
  if (rest.length > 0 || !name.test(user) || (group !== undefined && !name.test(group))) {
    throw optionError('usage', (o) => `invalid ${o('user')} "${text}": use UID, NAME, UID:GID or NAME:GROUP`)
  }
  return {user, group}
}

const isNumber = (text: string) => /^\d+$/.test(text)

/** Where names are looked up: root directories on the host (the first that holds the file wins), and the
 * error for a name none of them has. */
export interface UserFiles {
  roots: readonly string[]
  missing: (what: 'user' | 'group', name: string, file: 'passwd' | 'group') => string
}

/** Numbers stay numbers; names are looked up in the files. The user's own group comes with a name. */
export async function lookupIds(spec: UserSpec, files: UserFiles): Promise<{uid?: number; gid?: number}> {
  const out: {uid?: number; gid?: number} = {}
  if (spec.user !== undefined) {
    if (isNumber(spec.user)) out.uid = Number(spec.user)
    else {
      const entry = (await readEntries(files.roots, 'passwd')).find((fields) => fields[0] === spec.user)
      if (!entry || !isNumber(entry[2] ?? '')) throw new CtrError('not-found', files.missing('user', spec.user, 'passwd'))
      out.uid = Number(entry[2])
      if (isNumber(entry[3] ?? '')) out.gid = Number(entry[3])
    }
  }
  if (spec.group !== undefined) {
    if (isNumber(spec.group)) out.gid = Number(spec.group)
    else {
      const entry = (await readEntries(files.roots, 'group')).find((fields) => fields[0] === spec.group)
      if (!entry || !isNumber(entry[2] ?? '')) throw new CtrError('not-found', files.missing('group', spec.group, 'group'))
      out.gid = Number(entry[2])
    }
  }
  return out
}

/**
 * exec's `-u`: names in the running container's files, under `root` (its init's /proc/PID/root, which the
 * caller checks was still that task's once this returns).
 */
export async function resolveUser(spec: UserSpec, root: string, id: string): Promise<{uid?: number; gid?: number}> {
  const names = [spec.user, spec.group].some((name) => name !== undefined && !isNumber(name))
  if (names) {
    await stat(root).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError(
        'failed-precondition',
        `cannot read the files of container "${id}" (${root}: ${error.code ?? error.message}): give a numeric user and group`,
      )
    })
  }
  return lookupIds(spec, {roots: [root], missing: (what, name, file) => `no ${what} "${name}" in container "${id}" (its /etc/${file})`})
}

/**
 * The lines of etc/passwd or etc/group, split into fields, from the first root that holds the file (as a
 * regular file reached inside that root).
 */
export async function readEntries(roots: readonly string[], file: 'passwd' | 'group'): Promise<string[][]> {
  for (const root of roots) {
    const text = await readInRoot(root, `etc/${file}`).catch(() => undefined)
    if (text === undefined) continue
    return text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(':'))
  }
  return []
}

// O_PATH (Linux, not in Node's fs.constants): a descriptor that names a file without opening it, so a device
// node or FIFO met on the way is never opened. Numbers as in the kernel's asm-generic/fcntl.h.
const O_PATH = 0o10000000
const {O_DIRECTORY, O_NOFOLLOW, O_RDONLY} = fsConstants
/** Symlinks followed in one lookup before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40
/** More than any real passwd or group file; what is beyond is not read. */
const MAX_BYTES = 8 << 20

/**
 * A regular file's text at `path` (relative) inside `root`, as if `root` were `/`: `..` stops at the root, an
 * absolute symlink starts again from it. Undefined when there is no such regular file.
 */
async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const held: FileHandle[] = []
  // The root itself is followed (it is /proc/PID/root, a link by design, or a directory containerd gave).
  const dirs: FileHandle[] = [await open(root, O_PATH | O_DIRECTORY)]
  held.push(dirs[0])
  try {
    const rest = path.split('/').reverse()
    let links = 0
    while (rest.length > 0) {
      const name = rest.pop()!
      if (name === '' || name === '.') continue
      if (name === '..') {
        if (dirs.length > 1) dirs.pop()
        continue
      }
      const at = `/proc/self/fd/${dirs.at(-1)!.fd}/${name}`
      const handle = await open(at, O_PATH | O_NOFOLLOW).catch(() => undefined)
      if (!handle) return undefined
      held.push(handle)
      const info = await handle.stat()
      if (info.isSymbolicLink()) {
        if (++links > MAX_LINKS) return undefined
        // The link's text is only a path to resolve again here, so its being changed meanwhile is harmless.
        const target = await readlink(at)
        if (target.startsWith('/')) dirs.length = 1
        rest.push(...target.split('/').reverse())
      } else if (info.isDirectory()) {
        dirs.push(handle)
      } else if (info.isFile() && rest.every((part) => part === '' || part === '.')) {
        // Opened again through its descriptor: the very file checked, whatever its name points at now.
        const file = await open(`/proc/self/fd/${handle.fd}`, O_RDONLY)
        held.push(file)
        const buffer = Buffer.alloc(Math.min(info.size, MAX_BYTES))
        const {bytesRead} = await file.read(buffer, 0, buffer.length, 0)
        return buffer.subarray(0, bytesRead).toString('utf8')
      } else return undefined
    }
    return undefined
  } finally {
    await Promise.all(held.map((handle) => handle.close().catch(() => undefined)))
  }
}
