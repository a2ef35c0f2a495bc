/**
 * User and group names for exec's `-u NAME[:GROUP]`, start's `-u` and an image's User, resolved in the
 * container's own /etc/passwd and /etc/group (as runc and docker do), read on the host under a root
 * directory: a running task's /proc/PID/root (exec), a bundle's rootfs, an image's read-only root
 * (containers/snapshot-root.ts). Paths are resolved inside that root by containers/in-root.ts (held descriptors):
 * the kernel would resolve an absolute link against ctr's root, the host's.
 */
import {CtrError, optionError} from '../containerd/errors'
import {LazyRoot, RootDir} from '../containers/in-root'

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

/** Where names are looked up: the root, opened only when a name needs it; and the error for a name it lacks. */
export interface UserFiles {
  root: () => Promise<RootDir>
  missing: (what: 'user' | 'group', name: string, file: 'passwd' | 'group') => string
}

/** Numbers stay numbers; names are looked up in the files. The user's own group comes with a name. */
export async function lookupIds(spec: UserSpec, files: UserFiles): Promise<{uid?: number; gid?: number}> {
  const out: {uid?: number; gid?: number} = {}
  if (spec.user !== undefined) {
    if (isNumber(spec.user)) out.uid = Number(spec.user)
    else {
      const entry = (await readEntries(await files.root(), 'passwd')).find((fields) => fields[0] === spec.user)
      if (!entry || !isNumber(entry[2] ?? '')) throw new CtrError('not-found', files.missing('user', spec.user, 'passwd'))
      out.uid = Number(entry[2])
      if (isNumber(entry[3] ?? '')) out.gid = Number(entry[3])
    }
  }
  if (spec.group !== undefined) {
    if (isNumber(spec.group)) out.gid = Number(spec.group)
    else {
      const entry = (await readEntries(await files.root(), 'group')).find((fields) => fields[0] === spec.group)
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
  const opened = new LazyRoot(() =>
    RootDir.open(root, `container "${id}"`).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError(
        'failed-precondition',
        `cannot read the files of container "${id}" (${root}: ${error.code ?? error.message}): give a numeric user and group`,
      )
    }),
  )
  try {
    return await lookupIds(spec, {root: () => opened.get(), missing: (what, name, file) => `no ${what} "${name}" in container "${id}" (its /etc/${file})`})
  } finally {
    await opened.close()
  }
}

/** More than any real passwd or group file; what is beyond is not read. */
const MAX_BYTES = 8 << 20

/** The lines of /etc/passwd or /etc/group in `root`, split into fields; none when it is not a regular file there. */
export async function readEntries(root: RootDir, file: 'passwd' | 'group'): Promise<string[][]> {
  const text = (await root.readRegular(`/etc/${file}`, MAX_BYTES))?.toString('utf8') ?? ''
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
}
