/**
 * Network namespaces ctr pins for containers (docs/containerd.md "Networking"): an empty file under
 * /run/ctr/netns/<namespace>/<id> with the namespace bind-mounted on it, as `ip netns add` and CRI's sandboxes
 * do. Node cannot unshare, so util-linux's unshare(1) makes it (`--net=FILE` creates and pins it) and
 * umount(8) unpins it, both by absolute path.
 */
import {execFile} from 'node:child_process'
import {constants as fsConstants} from 'node:fs'
import {mkdir, open, rm, statfs} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {requirePrivateDir} from '../private-paths'

export const NETNS_DIR = '/run/ctr/netns'
const UNSHARE = '/usr/bin/unshare'
const UMOUNT = '/usr/bin/umount'
const TRUE = '/bin/true'
/** statfs f_type of a pinned namespace (nsfs). */
const NSFS_MAGIC = 0x6e736673

const run = promisify(execFile)

/** Where a container's pinned namespace lives (both names follow containerd's identifier rule). */
export function netnsPath(namespace: string, id: string, root: string = NETNS_DIR): string {
  if (!isIdentifier(namespace)) throw usageError(`invalid namespace "${namespace}"`)
  if (!isIdentifier(id)) throw usageError(`invalid container ID "${id}"`)
  return join(root, namespace, id)
}

async function isPinned(path: string): Promise<boolean> {
  const info = await statfs(path).catch(() => undefined)
  return info?.type === NSFS_MAGIC
}

const firstLine = (error: unknown): string =>
  String((error as {stderr?: string}).stderr || (error as Error).message)
    .trim()
    .split('\n')[0]

/** Creates (or finds, when already pinned) the container's network namespace; returns its path. */
export async function createNetns(namespace: string, id: string, root: string = NETNS_DIR): Promise<string> {
  const path = netnsPath(namespace, id, root)
  const dir = join(root, namespace)
  await mkdir(dir, {recursive: true, mode: 0o700})
  await requirePrivateDir(dir, 'network namespace directory')
  if (await isPinned(path)) return path
  const {O_WRONLY, O_CREAT, O_NOFOLLOW} = fsConstants
  await (await open(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0o600)).close()
  try {
    await run(UNSHARE, [`--net=${path}`, TRUE])
  } catch (error) {
    await rm(path, {force: true}).catch(() => undefined)
    throw new CtrError('internal', `cannot create a network namespace at ${path}: ${firstLine(error)}`, {cause: error})
  }
  return path
}

/** Unpins and removes the container's namespace file; nothing there is fine. */
export async function removeNetns(namespace: string, id: string, root: string = NETNS_DIR): Promise<void> {
  const path = netnsPath(namespace, id, root)
  if (await isPinned(path)) {
    await run(UMOUNT, ['--no-canonicalize', path]).catch((error: unknown) => {
      throw new CtrError('internal', `cannot remove the network namespace ${path}: ${firstLine(error)}`, {cause: error})
    })
  }
  await rm(path, {force: true})
}
