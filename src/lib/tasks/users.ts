/**
 * User and group names for exec's `-u NAME[:GROUP]`, resolved in the container's own /etc/passwd and
 * /etc/group (as runc and docker do), read through the container's root path on the host. A symlink that
 * leads out of the root is not followed (the file would be the host's).
 */
import {readFile, realpath} from 'node:fs/promises'
import {join, relative} from 'node:path'

import {CtrError, usageError} from '../containerd/errors'

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
    throw usageError(`invalid --user "${text}": use UID, NAME, UID:GID or NAME:GROUP`)
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

/** exec's `-u`: names in the container's files, read through its root path on the host. */
export async function resolveUser(spec: UserSpec, rootPath: string | undefined, id: string): Promise<{uid?: number; gid?: number}> {
  const names = [spec.user, spec.group].some((name) => name !== undefined && !isNumber(name))
  if (names && !rootPath) throw new CtrError('failed-precondition', `container "${id}" has no root path ctr can read: give a numeric user and group`)
  return lookupIds(spec, {roots: rootPath ? [rootPath] : [], missing: (what, name, file) => `no ${what} "${name}" in container "${id}" (its /etc/${file})`})
}

/**
 * The lines of etc/passwd or etc/group, split into fields, from the first root that holds the file. A
 * symlink that leads out of its root is not followed (the file would be the host's): that root is passed over.
 */
export async function readEntries(roots: readonly string[], file: 'passwd' | 'group'): Promise<string[][]> {
  for (const rootPath of roots) {
    let text: string
    try {
      const root = await realpath(rootPath)
      const path = await realpath(join(root, 'etc', file))
      if (relative(root, path).startsWith('..')) continue
      text = await readFile(path, 'utf8')
    } catch {
      continue
    }
    return text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(':'))
  }
  return []
}
