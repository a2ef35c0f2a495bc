/**
 * The one way ctr looks into a snapshot: its mounts (or, for an image's content, a read-only overlay of its
 * layers) mounted by ctr with mount(8) on a fresh 0700 directory under /run/ctr/roots, opened, and at once
 * detached (`umount --lazy`) and the directory removed. The descriptor alone keeps the mount alive, outside
 * every path, and the kernel drops it when ctr's last descriptor of it closes, however ctr ends (Ctrl-C,
 * SIGKILL). Only between mount and detach (a few milliseconds) is it visible; a ctr killed then leaves it,
 * and the next ctr that mounts one removes it (the directory names the PID that made it).
 *
 * Why not a private mount namespace (unshare --mount, the mount dying with that process: no window at all):
 * the root would then exist only inside a child process, so every lookup in it would be code that child runs
 * (a second path resolver, a node start of ~40 ms each time), whereas a descriptor in ctr serves in-root.ts
 * (cp, user names, a volume's fill) and a child that needs a path (cp -a) gets /proc/<ctr>/fd/N.
 */
import {execFile} from 'node:child_process'
import {mkdir, mkdtemp, readdir, readFile, rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import type {Mount} from '../../gen/containerd/types/mount'
import {CtrError} from '../containerd/errors'
import {RootDir} from './in-root'
import {trackInFlight} from '../in-flight'
import {ownerState, ownerToken} from '../owner'
import {requirePrivateDir} from '../private-paths'

export const MOUNT_DIR = '/run/ctr/roots'
const MOUNT = '/usr/bin/mount'
const UMOUNT = '/usr/bin/umount'
const run = promisify(execFile)

const firstLine = (error: unknown): string =>
  String((error as {stderr?: string}).stderr || (error as Error).message)
    .trim()
    .split('\n')[0]

const isBind = (m: Mount) => m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')

/**
 * The image content a prepared snapshot shows, read-only (its own upper layer is left out: a fresh one is
 * empty): one layer or a bind mount is its directory as it is; several layers an overlay of them, whiteouts
 * honoured.
 */
export function imageView(mounts: readonly Mount[]): {dir: string} | {overlay: Mount} {
  if (mounts.length !== 1) throw new CtrError('unimplemented', `cannot read an image from a snapshot of ${mounts.length} mounts`)
  const [m] = mounts
  if (m.type === 'overlay') {
    const lower = m.options.find((o) => o.startsWith('lowerdir='))
    const lowerdirs = lower ? lower.slice('lowerdir='.length).split(':') : []
    if (lowerdirs.length === 0) throw new CtrError('unimplemented', 'cannot read an image from an overlay snapshot without layers')
    // overlayfs wants two lower layers when it has no upper one.
    if (lowerdirs.length === 1) return {dir: lowerdirs[0]}
    return {overlay: {type: 'overlay', source: 'overlay', target: '', options: ['ro', `lowerdir=${lowerdirs.join(':')}`]}}
  }
  if (isBind(m)) return {dir: m.source}
  throw new CtrError('unimplemented', `cannot read an image from a snapshot mounted as "${m.type}"`)
}

/** The image's root filesystem in a prepared snapshot (imageView), open read-only as a RootDir. */
export async function openImageRoot(mounts: readonly Mount[], label: string): Promise<RootDir> {
  const view = imageView(mounts)
  if ('overlay' in view) return openMounted([view.overlay], label)
  return RootDir.open(view.dir, label).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('internal', `cannot open the root of ${label} (${view.dir}: ${error.code ?? error.message})`, {cause: error})
  })
}

/**
 * Mounts `mounts` (in order, on one directory, as containerd's mount.All), opens the result and detaches it
 * at once; the directory is removed. On any failure nothing stays mounted.
 */
export async function openMounted(mounts: readonly Mount[], label: string, base: string = MOUNT_DIR): Promise<RootDir> {
  if (mounts.length === 0) throw new CtrError('internal', `the snapshot of ${label} has no mounts`)
  await mkdir(base, {recursive: true, mode: 0o700})
  await requirePrivateDir(base, 'mount directory')
  await sweep(base)
  const target = await mkdtemp(join(base, `${ownerToken() ?? process.pid}-`))
  const forget = trackInFlight(`a mount at ${target} (remove with: umount --lazy ${target})`)
  let mounted = 0
  try {
    for (const m of mounts) {
      const args = ['--no-canonicalize', ...(isBind(m) ? [] : ['-t', m.type]), ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, target]
      await run(MOUNT, args, {env: {LC_ALL: 'C'}}).catch((error: unknown) => {
        throw new CtrError('internal', `cannot mount the snapshot of ${label}: ${firstLine(error)}`, {cause: error})
      })
      mounted++
    }
    return await RootDir.open(target, label)
  } finally {
    // Detached whether the open worked or not: an open descriptor keeps it alive, nothing else does.
    for (; mounted > 0; mounted--) await run(UMOUNT, ['--lazy', '--no-canonicalize', target], {env: {LC_ALL: 'C'}}).catch(() => undefined)
    await rmdir(target).catch(() => undefined)
    forget()
  }
}

/**
 * Mounts left by a ctr killed between mount and detach: its directory names its owner token (../owner.ts),
 * whose process is dead. (Not owner.ts's deadOwnersDirs: a directory still mounted shows its mount's owner
 * and mode, not the 0700 of the directory made here.)
 */
async function sweep(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[])
  const stale = names.filter((name) => ownerState(/^(\d+\.\d+\.\d+)-/.exec(name)?.[1]) === 'dead')
  if (stale.length === 0) return
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  for (const name of stale) {
    const dir = join(base, name)
    const times = mountinfo.split('\n').filter((line) => line.split(' ')[4] === dir).length
    for (let i = 0; i < times; i++) await run(UMOUNT, ['--lazy', '--no-canonicalize', dir], {env: {LC_ALL: 'C'}}).catch(() => undefined)
    await rmdir(dir).catch(() => undefined)
  }
}
