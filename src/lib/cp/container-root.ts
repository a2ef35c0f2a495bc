/**
 * A container's root filesystem, opened for `cp` as a held directory descriptor (in-root.ts RootDir):
 * - a live task (running, paused, created): its init's /proc/PID/root (ctr and the daemon share the PID
 *   namespace, as they must here: ctr talks to a local containerd), the task asked again afterwards so the
 *   PID was still its own;
 * - otherwise a container with a snapshot: the snapshot's mounts (Snapshots.Mounts), mounted by ctr with
 *   mount(8) on a fresh 0700 directory under /run/ctr/cp, opened, and at once detached (`umount --lazy`) and
 *   the directory removed. The descriptor alone keeps the mount alive, outside every path, and the kernel
 *   drops it when ctr's last descriptor closes, however ctr ends (Ctrl-C, SIGKILL). Only between mount and
 *   detach (a few milliseconds) is it visible; a ctr killed then leaves it, and the next `cp` removes it
 *   (the directory names the PID that made it);
 * - otherwise a bundle container's spec root.path, when absolute.
 */
import {execFile} from 'node:child_process'
import {mkdir, mkdtemp, readdir, readFile, rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {SnapshotsDefinition} from '../../gen/containerd/services/snapshots/v1/snapshots'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Mount} from '../../gen/containerd/types/mount'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {trackInFlight} from '../in-flight'
import {requirePrivateDir} from '../private-paths'
import {processStatus} from '../tasks/status'
import {RootDir} from './in-root'

export const MOUNT_DIR = '/run/ctr/cp'
const MOUNT = '/usr/bin/mount'
const UMOUNT = '/usr/bin/umount'
const run = promisify(execFile)

const firstLine = (error: unknown): string =>
  String((error as {stderr?: string}).stderr || (error as Error).message)
    .trim()
    .split('\n')[0]

export type RootKind = 'task' | 'snapshot' | 'bundle'

/** Runs `body` with the container's root open; closes it (and so drops a snapshot's mount) on every path. */
export async function withContainerRoot<T>(client: ContainerdClient, id: string, body: (root: RootDir, kind: RootKind) => Promise<T>): Promise<T> {
  const container = await requireContainer(client, id)
  const label = `container "${id}"`
  const pid = await livePid(client, id)
  let root: RootDir
  let kind: RootKind
  if (pid) {
    root = await RootDir.open(`/proc/${pid}/root`, label).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError('failed-precondition', `cannot open the root of ${label} (/proc/${pid}/root: ${error.code ?? error.message})`, {cause: error})
    })
    if ((await livePid(client, id)) !== pid) {
      await root.close()
      throw new CtrError('failed-precondition', `${label} was restarted while its root was opened`)
    }
    kind = 'task'
  } else if (container.snapshotKey) {
    const {mounts} = await client.service(SnapshotsDefinition).mounts({snapshotter: container.snapshotter, key: container.snapshotKey})
    root = await openMounted(mounts, label)
    kind = 'snapshot'
  } else {
    const spec = container.spec?.value?.length ? (JSON.parse(Buffer.from(container.spec.value).toString('utf8')) as {root?: {path?: string}}) : {}
    const path = spec.root?.path
    if (!path?.startsWith('/')) {
      throw new CtrError('failed-precondition', `${label} is not running and has neither a snapshot nor an absolute root path: start it to copy`)
    }
    root = await RootDir.open(path, label).catch((error: NodeJS.ErrnoException) => {
      throw new CtrError('failed-precondition', `cannot open the root of ${label} (${path}: ${error.code ?? error.message})`, {cause: error})
    })
    kind = 'bundle'
  }
  try {
    return await body(root, kind)
  } finally {
    await root.close()
  }
}

/** The task's init PID while it has a process (running, paused, created); undefined otherwise. */
async function livePid(client: ContainerdClient, id: string): Promise<number | undefined> {
  const task = await client
    .service(TasksDefinition)
    .get({containerId: id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') return undefined
      throw error
    })
  const status = processStatus(task?.process?.status)
  if (!task?.process?.pid || status === 'stopped' || status === 'unknown') return undefined
  return task.process.pid
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
  const target = await mkdtemp(join(base, `${process.pid}-`))
  const forget = trackInFlight(`a mount at ${target} (remove with: umount --lazy ${target})`)
  let mounted = 0
  try {
    for (const m of mounts) {
      const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')
      const args = ['--no-canonicalize', ...(bind ? [] : ['-t', m.type]), ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, target]
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

/** Mounts left by a ctr killed between mount and detach: its directory names its PID, now gone. */
async function sweep(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[])
  const stale = names.filter((name) => {
    const pid = /^(\d+)-/.exec(name)?.[1]
    return pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))
  })
  if (stale.length === 0) return
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  for (const name of stale) {
    const dir = join(base, name)
    const times = mountinfo.split('\n').filter((line) => line.split(' ')[4] === dir).length
    for (let i = 0; i < times; i++) await run(UMOUNT, ['--lazy', '--no-canonicalize', dir], {env: {LC_ALL: 'C'}}).catch(() => undefined)
    await rmdir(dir).catch(() => undefined)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
