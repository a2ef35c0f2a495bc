/**
 * A container's root filesystem, opened for `cp` as a held directory descriptor (containers/in-root.ts RootDir):
 * - a live task (running, paused, created): its init's /proc/PID/root (ctr and the daemon share the PID
 *   namespace, as they must here: ctr talks to a local containerd), the task asked again afterwards so the
 *   PID was still its own;
 * - otherwise a container with a snapshot: the snapshot's mounts (Snapshots.Mounts), mounted by ctr and
 *   detached at once, only ctr's descriptor holding them (containers/snapshot-root.ts openMounted);
 * - otherwise a bundle container's spec root.path, when absolute.
 */
import {SnapshotsDefinition} from '../../gen/containerd/services/snapshots/v1/snapshots'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {openMounted} from '../containers/snapshot-root'
import {processStatus} from '../tasks/status'
import {RootDir} from '../containers/in-root'

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
