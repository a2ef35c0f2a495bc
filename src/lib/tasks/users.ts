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

/** Numbers stay numbers; names are looked up in the container's files. The user's own group comes with a name. */
export async function resolveUser(spec: UserSpec, rootPath: string | undefined, id: string): Promise<{uid?: number; gid?: number}> {
  const out: {uid?: number; gid?: number} = {}
  if (spec.user !== undefined) {
    if (isNumber(spec.user)) out.uid = Number(spec.user)
    else {
      const entry = (await entries(rootPath, 'passwd', id)).find((fields) => fields[0] === spec.user)
      if (!entry || !isNumber(entry[2] ?? '')) throw new CtrError('not-found', `no user "${spec.user}" in container "${id}" (its /etc/passwd)`)
      out.uid = Number(entry[2])
      if (isNumber(entry[3] ?? '')) out.gid = Number(entry[3])
    }
  }
  if (spec.group !== undefined) {
    if (isNumber(spec.group)) out.gid = Number(spec.group)
    else {
      const entry = (await entries(rootPath, 'group', id)).find((fields) => fields[0] === spec.group)
      if (!entry || !isNumber(entry[2] ?? '')) throw new CtrError('not-found', `no group "${spec.group}" in container "${id}" (its /etc/group)`)
      out.gid = Number(entry[2])
    }
  }
  return out
}

async function entries(rootPath: string | undefined, file: 'passwd' | 'group', id: string): Promise<string[][]> {
  if (!rootPath) throw new CtrError('failed-precondition', `container "${id}" has no root path ctr can read: give a numeric user and group`)
  let text: string
  try {
    const root = await realpath(rootPath)
    const path = await realpath(join(root, 'etc', file))
    if (relative(root, path).startsWith('..')) throw new Error('outside the root')
    text = await readFile(path, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
}
