/**
 * `containers wait`: the exit statuses of containers' tasks, as `docker wait` gives them. A container must
 * have a task: one whose process already exited (a stopped task not deleted yet) answers at once with its
 * status, so `start; wait` never misses a fast exit; one without a task has nothing to wait for.
 * A daemon restart breaks the Tasks.Wait call but not the task (its shim keeps running): the wait is made
 * again once containerd answers, for up to RECONNECT_LIMIT_MS of continuous unavailability.
 */
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {Retrier} from '../retry'
import {getTask, waitTask} from './tasks'

/** How long containerd may stay unreachable during a wait before it fails. */
export const RECONNECT_LIMIT_MS = 60_000

export interface WaitResult {
  id: string
  /** 128+N when killed by signal N. */
  exitStatus: number
  exitedAt?: Date
}

/** Checks that the container exists and has a task to wait for (one-line errors otherwise). */
export async function checkWaitable(client: ContainerdClient, id: string): Promise<void> {
  await requireContainer(client, id)
  if (!(await getTask(client, id))) throw new CtrError('failed-precondition', `container "${id}" is not running (it has no task)`)
}

/**
 * Resolves when the container's task (or, with execId, that exec process) exits, at once if it already has.
 * No deadline; survives daemon restarts.
 */
export async function waitContainer(
  client: ContainerdClient,
  id: string,
  options: {signal?: AbortSignal; reconnectLimitMs?: number; execId?: string} = {},
): Promise<WaitResult> {
  const retrier = new Retrier({
    retryable: (error) => error instanceof CtrError && error.kind === 'unavailable',
    withinMs: options.reconnectLimitMs ?? RECONNECT_LIMIT_MS,
    signal: options.signal,
  })
  for (;;) {
    const attempt = Date.now()
    try {
      const {exitStatus, exitedAt} = await waitTask(client, id, {signal: options.signal, execId: options.execId})
      return {id, exitStatus, exitedAt}
    } catch (error) {
      if (error instanceof CtrError && error.kind === 'not-found') {
        const what = options.execId ? `exec process "${options.execId}"` : 'task'
        throw new CtrError('not-found', `container "${id}" has no ${what} any more (deleted while waiting)`, {cause: error})
      }
      // A wait that held for a while was connected: this is a new outage, not the old one going on.
      if (Date.now() - attempt > 1000) retrier.succeeded()
      await retrier.failed(error)
    }
  }
}
