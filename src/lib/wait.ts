/**
 * `containers wait`: the exit statuses of containers' tasks, as `docker wait` gives them. A container must
 * have a task: one whose process already exited (a stopped task not deleted yet) answers at once with its
 * status, so `start; wait` never misses a fast exit; one without a task has nothing to wait for.
 */
import {ContainersDefinition} from '../gen/containerd/services/containers/v1/containers'
import type {ContainerdClient} from './containerd/client'
import {CtrError} from './containerd/errors'
import {getTask, waitTask} from './tasks'

export interface WaitResult {
  id: string
  /** 128+N when killed by signal N. */
  exitStatus: number
  exitedAt?: Date
}

/** Checks that the container exists and has a task to wait for (one-line errors otherwise). */
export async function checkWaitable(client: ContainerdClient, id: string): Promise<void> {
  await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('not-found', `container "${id}" not found`, {cause: error})
      throw error
    })
  if (!(await getTask(client, id))) throw new CtrError('failed-precondition', `container "${id}" is not running (it has no task)`)
}

/** Resolves when the container's task exits (at once if it already has). No deadline. */
export async function waitContainer(client: ContainerdClient, id: string, options: {signal?: AbortSignal} = {}): Promise<WaitResult> {
  const {exitStatus, exitedAt} = await waitTask(client, id, options).catch((error) => {
    if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('not-found', `container "${id}" has no task any more (deleted while waiting)`, {cause: error})
    throw error
  })
  return {id, exitStatus, exitedAt}
}
