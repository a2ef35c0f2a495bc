/**
 * Task lifecycle primitives (a container's running instance, as containerd calls it): create, start, wait,
 * get, list, delete, and the forceful removal every clean-up path needs. Protobuf in, domain types out.
 * Signalling, pause/resume and process listing live in processes.ts.
 */
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Process} from '../../gen/containerd/types/task/task'
import type {Mount} from '../../gen/containerd/types/mount'
import type {Descriptor} from '../../gen/containerd/types/descriptor'
import type {Any} from '../../gen/google/protobuf/any'
import {type CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {type ProcessStatus, processStatus} from './status'
import {SIGKILL} from './signals'
import {NULL_STDIO, type StdioPaths} from './stdio'

/** Deadline for Tasks.Create when the client has none (--timeout 0): a shim stuck on its FIFOs must not hang us. */
export const CREATE_TIMEOUT_MS = 60_000

export interface TaskInfo {
  /** The container ID. */
  id: string
  pid: number
  status: ProcessStatus
  terminal: boolean
  stdio: StdioPaths
  /** Set once the process has exited. */
  exitStatus?: number
  exitedAt?: Date
}

export interface ExitStatus {
  /** The exit code, 128+N when killed by signal N (containerd reports it so). */
  exitStatus: number
  exitedAt?: Date
}

export interface CreateTaskOptions {
  /** The container ID. */
  id: string
  /** FIFO or file:// paths; default none (NULL_STDIO). Read ends of FIFOs must already be open. */
  stdio?: StdioPaths
  terminal?: boolean
  /** Restore from a checkpoint (CRIU image descriptor), as Tasks.Create takes it. */
  checkpoint?: Descriptor
  /** Runtime options (e.g. runc `containerd.runc.v1.Options{criu_image_path}` for a directory restore). */
  options?: Any
  /** The root filesystem's mounts (a snapshot's, Snapshots.Mounts); none: the spec's root.path is used. */
  rootfs?: Mount[]
}

/** Tasks.Create with a deadline (the shim can hang on its stdio); resolves with the init process's PID. */
export async function createTask(client: ContainerdClient, options: CreateTaskOptions, call: CallOptions = {}): Promise<{pid: number}> {
  const stdio = options.stdio ?? NULL_STDIO
  const {pid} = await tasks(client).create(
    {
      containerId: options.id,
      rootfs: options.rootfs ?? [], // none: the spec's root.path is used
      stdin: stdio.stdin,
      stdout: stdio.stdout,
      stderr: stdio.stderr,
      terminal: Boolean(options.terminal),
      checkpoint: options.checkpoint,
      options: options.options,
    },
    {timeoutMs: call.timeoutMs ?? (client.timeoutMs || CREATE_TIMEOUT_MS), signal: call.signal},
  )
  return {pid}
}

export async function startTask(client: ContainerdClient, id: string, call: CallOptions & {execId?: string} = {}): Promise<{pid: number}> {
  const {pid} = await tasks(client).start({containerId: id, execId: call.execId ?? ''}, call)
  return {pid}
}

/** Resolves when the process exits. No deadline: call it BEFORE startTask so a fast exit is not missed. */
export async function waitTask(client: ContainerdClient, id: string, options: {execId?: string; signal?: AbortSignal} = {}): Promise<ExitStatus> {
  const {exitStatus, exitedAt} = await tasks(client).wait({containerId: id, execId: options.execId ?? ''}, {timeoutMs: null, signal: options.signal})
  return {exitStatus, exitedAt}
}

/** Deletes a stopped (or created) task; resolves with its exit status. */
export async function deleteTask(client: ContainerdClient, id: string, call: CallOptions = {}): Promise<ExitStatus & {pid: number}> {
  const {pid, exitStatus, exitedAt} = await tasks(client).delete({containerId: id}, call)
  return {pid, exitStatus, exitedAt}
}

/** The container's task, or undefined when it has none. */
export async function getTask(client: ContainerdClient, id: string, call: CallOptions = {}): Promise<TaskInfo | undefined> {
  try {
    const {process} = await tasks(client).get({containerId: id, execId: ''}, call)
    return process ? taskInfo(process) : undefined
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}

/** Every task in the namespace (one call). */
export async function listTasks(client: ContainerdClient, call: CallOptions = {}): Promise<TaskInfo[]> {
  const {tasks: list} = await tasks(client).list({filter: ''}, call)
  return list.map(taskInfo)
}

/**
 * Makes sure the container has no task: SIGKILL (resuming it if paused, so the kill lands), wait for the
 * exit, delete. A missing task is fine. Used by `delete --force` and by every roll-back path.
 */
export async function removeTask(client: ContainerdClient, id: string, options: {waitMs?: number} = {}): Promise<ExitStatus | undefined> {
  const task = await getTask(client, id)
  if (!task) return undefined
  if (task.status !== 'stopped') {
    const service = tasks(client)
    // When the kill itself fails (e.g. a task left "created" by a failed restore) no exit will come:
    // stop waiting at once and go straight to the delete.
    const killFailed = new AbortController()
    const waitSignal = AbortSignal.any([AbortSignal.timeout(options.waitMs ?? 10_000), killFailed.signal])
    const exited = waitTask(client, id, {signal: waitSignal}).catch(() => undefined)
    await service.kill({containerId: id, execId: '', signal: SIGKILL, all: true}).catch(() => killFailed.abort())
    if (task.status === 'paused' || task.status === 'pausing') await service.resume({containerId: id}).catch(() => undefined)
    await exited
  }
  try {
    return await deleteTask(client, id)
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}

export function taskInfo(process: Process): TaskInfo {
  const exited = processStatus(process.status) === 'stopped'
  return {
    id: process.containerId || process.id,
    pid: process.pid,
    status: processStatus(process.status),
    terminal: process.terminal,
    stdio: {stdin: process.stdin, stdout: process.stdout, stderr: process.stderr},
    ...(exited ? {exitStatus: process.exitStatus, exitedAt: process.exitedAt} : {}),
  }
}

function tasks(client: ContainerdClient) {
  return client.service(TasksDefinition)
}
