/**
 * Stopping a container and starting it again (docker's stop, restart and `start ID`): the stop signal
 * (stopSignalOf), SIGKILL after a grace period, then the exited task is deleted (its shim goes) and its exit
 * status kept in EXIT_STATUS_LABEL, so `containers` shows it stopped. A new task is made from the same
 * container record: the same spec (mounts included), the snapshot's mounts for an image container, and the
 * same log file, appended to, with a line that says the container was started again.
 */
import {setTimeout as delay} from 'node:timers/promises'

import {SnapshotsDefinition} from '../../gen/containerd/services/snapshots/v1/snapshots'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Mount} from '../../gen/containerd/types/mount'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {UndoStack} from '../containerd/undo'
import {EXIT_STATUS_LABEL, requireContainer, setLabels} from '../containers/containers'
import {reopenLog} from '../logs/files'
import {RESTART_STATUS_LABEL} from '../containers/restart-policy'
import {ownerState} from '../owner'
import {ContainerProcess} from './process'
import {stopSignalOf, withContainer} from './processes'
import {SIGKILL} from './signals'
import {isDeadHalfStart, STARTING_LABEL, startError} from './start'
import {deleteTask, getTask, removeTask, waitTask} from './tasks'

/** docker's and nerdctl's default grace period. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000

export interface StopOptions {
  /** Time between the stop signal and SIGKILL (default DEFAULT_STOP_TIMEOUT_MS). */
  timeoutMs?: number
  /** Aborts the wait (Ctrl-C): the container is left as it is then (running, or stopped with its task). */
  signal?: AbortSignal
}

export interface StopResult {
  id: string
  /** Whether it was running (or paused) and this call stopped it. */
  stopped: boolean
  /** The exit status of its process, when known (128+N when killed by signal N). */
  exitStatus?: number
  /** SIGKILL was needed: the process outlived the grace period. */
  killed?: boolean
}

/**
 * Stops the container's task: its stop signal, then SIGKILL if it has not exited within the grace period;
 * resolves once it has exited and its task is deleted. A container that is not running is not an error.
 */
export async function stopContainer(client: ContainerdClient, id: string, options: StopOptions = {}): Promise<StopResult> {
  const container = await requireContainer(client, id)
  // Stopped for good: containerd's restart monitor must not start it again (its desired status first).
  if (container.labels[RESTART_STATUS_LABEL] === 'running') await setLabels(client, id, {[RESTART_STATUS_LABEL]: 'stopped'})
  const task = await getTask(client, id)
  if (!task) return {id, stopped: false}
  if (task.status === 'created') return {id, stopped: false}
  if (task.status === 'stopped') return {id, stopped: false, exitStatus: (await finish(client, id)).exitStatus}
  const signal = stopSignalOf(container)
  const tasks = client.service(TasksDefinition)
  const waiting = new AbortController()
  const onAbort = () => waiting.abort()
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    // Wait first, so an exit between the kill and the wait is not missed.
    const exited = waitTask(client, id, {signal: waiting.signal})
    exited.catch(() => undefined)
    await sendSignal(client, id, signal)
    if (task.status === 'paused' || task.status === 'pausing') await tasks.resume({containerId: id}).catch(() => undefined)
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    const graceOver = delay(timeoutMs, 'grace-over' as const, {signal: waiting.signal}).catch(() => undefined)
    let killed = false
    if ((await Promise.race([exited, graceOver])) === 'grace-over') {
      killed = true
      await tasks.kill({containerId: id, execId: '', signal: SIGKILL, all: true}).catch(unlessFinished(id))
    }
    await exited.catch((error) => {
      if (options.signal?.aborted) throw new CtrError('cancelled', `interrupted while stopping container "${id}" (it may still be running)`)
      throw withContainer(error, id)
    })
    const {exitStatus} = await finish(client, id)
    return {id, stopped: true, exitStatus, killed}
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    waiting.abort() // ends the grace timer and a wait still pending
  }
}

async function sendSignal(client: ContainerdClient, id: string, signal: number): Promise<void> {
  await client.service(TasksDefinition).kill({containerId: id, execId: '', signal, all: false}).catch(unlessFinished(id))
}

/** A process that exited meanwhile is what stop wants: containerd says so with not-found. */
function unlessFinished(id: string) {
  return (error: unknown): void => {
    if (error instanceof CtrError && error.kind === 'not-found') return
    throw withContainer(error, id)
  }
}

/** Deletes the exited task (its shim goes) and keeps its exit status on the record, as an attached run does. */
async function finish(client: ContainerdClient, id: string): Promise<{exitStatus?: number}> {
  const deleted = await deleteTask(client, id).catch((error) => {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw withContainer(error, id)
  })
  if (!deleted) return {}
  await setLabels(client, id, {[EXIT_STATUS_LABEL]: String(deleted.exitStatus)}).catch(() => undefined)
  return {exitStatus: deleted.exitStatus}
}

export interface StartedAgain {
  id: string
  pid: number
  /** It was running already: nothing was done (as docker start). */
  running?: boolean
  logPath?: string
}

/**
 * `start ID`: a container that is created (no task, or a task never started) or stopped gets a new task
 * from its record and runs detached; one that runs already is left alone. A failure removes the new task.
 */
export async function startExisting(client: ContainerdClient, id: string, options: {note?: string; signal?: AbortSignal} = {}): Promise<StartedAgain> {
  const container = await requireContainer(client, id)
  let task = await getTask(client, id)
  if (task && task.status !== 'stopped' && task.status !== 'created') return {id, pid: task.pid, running: true}
  const starting = ownerState(container.labels[STARTING_LABEL])
  if (starting === 'alive') throw new CtrError('failed-precondition', `container "${id}" is being started by another ctr`)
  if (isDeadHalfStart(container, task)) {
    // A start a killed ctr left half-way: its task's stdio was that ctr's (FIFOs nobody reads). Start afresh.
    await removeTask(client, id)
    task = undefined
  }
  if (task?.status === 'created') {
    // Go's `ctr c create` + `ctr t create`, or a start cut off: its stdio is already fixed, only Start remains.
    const {pid} = await client
      .service(TasksDefinition)
      .start({containerId: id, execId: ''}, {signal: options.signal})
      .catch((error) => {
        throw withContainer(error, id)
      })
    return {id, pid}
  }
  if (task) await finish(client, id)
  const log = await reopenLog(
    client.namespace,
    id,
    container.labels,
    options.note ?? `--- ctr: container ${id} started again at ${new Date().toISOString()} ---`,
  )
  const rootfs = container.snapshotKey && container.snapshotter ? await snapshotMounts(client, container.snapshotter, container.snapshotKey) : undefined
  const undo = new UndoStack()
  try {
    const process = await ContainerProcess.task(client, {id, stdio: log?.stdio, terminal: false, rootfs}, undo, {signal: options.signal})
    const pid = await process.start({signal: options.signal})
    undo.dismiss()
    const clear = {
      [EXIT_STATUS_LABEL]: '',
      ...(starting === 'dead' ? {[STARTING_LABEL]: ''} : {}),
      // Running again: the restart monitor keeps it so (stop set it to stopped).
      ...(container.labels[RESTART_STATUS_LABEL] ? {[RESTART_STATUS_LABEL]: 'running'} : {}),
    }
    await setLabels(client, id, clear).catch(() => undefined)
    return {id, pid, ...(log ? {logPath: log.path} : {})}
  } catch (error) {
    await undo.unwind(client, {failure: error, signal: options.signal})
    throw startError(error, id, commandOf(container.spec?.value))
  }
}

/** `restart`: stop (as stopContainer), then a new task from the same record (startExisting). */
export async function restartContainer(client: ContainerdClient, id: string, options: StopOptions = {}): Promise<StartedAgain & {exitStatus?: number}> {
  const stopped = await stopContainer(client, id, options)
  const started = await startExisting(client, id, {
    signal: options.signal,
    note: `--- ctr: container ${id} restarted at ${new Date().toISOString()} ---`,
  })
  return {...started, ...(stopped.exitStatus !== undefined ? {exitStatus: stopped.exitStatus} : {})}
}

async function snapshotMounts(client: ContainerdClient, snapshotter: string, key: string): Promise<Mount[]> {
  const {mounts} = await client.service(SnapshotsDefinition).mounts({snapshotter, key})
  return mounts
}

/** The spec's program, for runtime-errors.ts's wording of a process that cannot start. */
function commandOf(spec: Uint8Array | undefined): string {
  try {
    const parsed = JSON.parse(Buffer.from(spec ?? []).toString('utf8')) as {process?: {args?: string[]}}
    return parsed.process?.args?.[0] ?? ''
  } catch {
    return ''
  }
}
