/**
 * Exec processes after they exit. containerd keeps an exited exec process (and so its ID) until someone
 * calls Tasks.DeleteProcess or the task goes, and it has no call that lists a task's exec processes: ListPids
 * sees only live PIDs. So ctr keeps what is worth knowing of an exited detached exec on the container record,
 * one label each (`io.ctr.exec-exit.<exec ID>` = `{"pid":…,"exitStatus":…,"exitedAt":…}`, the newest
 * MAX_EXEC_EXITS), and removes the process itself:
 *
 * - reapExec (run by the CLI in a detached process after a detached `exec`, or by library users): waits for
 *   the exit, records it, deletes the process, so its ID can be used again at once;
 * - `ps --all` lists the records beside the live processes (listProcesses);
 * - deleteExec (`containers delete --exec-id`) removes a record, or an exec process of any origin.
 *
 * Labels, not extensions: containerd 1.6 can delete one label through Update's `labels.<key>` mask (an empty
 * value), but never an extension key.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {SIGKILL} from './signals'
import {processStatus} from './status'
import {waitContainer} from './wait'

export const EXEC_EXIT_LABEL_PREFIX = 'io.ctr.exec-exit.'
/** Records kept per container: the newest by exit time. */
export const MAX_EXEC_EXITS = 32

export interface ExecExit {
  execId: string
  pid: number
  /** 128+N when killed by signal N. */
  exitStatus: number
  exitedAt?: Date
}

/** The exit records among a container's labels, newest first; malformed ones are skipped. */
export function execExits(labels: Record<string, string>): ExecExit[] {
  const exits: ExecExit[] = []
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(EXEC_EXIT_LABEL_PREFIX)) continue
    try {
      const parsed = JSON.parse(value) as {pid?: unknown; exitStatus?: unknown; exitedAt?: unknown}
      if (typeof parsed.pid !== 'number' || typeof parsed.exitStatus !== 'number') continue
      const exitedAt = typeof parsed.exitedAt === 'string' ? new Date(parsed.exitedAt) : undefined
      exits.push({execId: key.slice(EXEC_EXIT_LABEL_PREFIX.length), pid: parsed.pid, exitStatus: parsed.exitStatus, exitedAt})
    } catch {
      // someone else's label of the same shape: not ours to read
    }
  }
  return exits.sort((a, b) => (b.exitedAt?.getTime() ?? 0) - (a.exitedAt?.getTime() ?? 0))
}

/**
 * Waits for a started exec process to exit, then records its exit on the container and deletes it. The PID
 * from Tasks.Start guards against deleting a newer process given the same exec ID in the meantime. Ends
 * quietly when the process or container is gone first (deleted by the user, the container removed).
 */
export async function reapExec(
  client: ContainerdClient,
  target: {id: string; execId: string; pid: number},
  options: {signal?: AbortSignal} = {},
): Promise<ExecExit | undefined> {
  const {id, execId, pid} = target
  const tasks = client.service(TasksDefinition)
  try {
    await waitContainer(client, id, {execId, signal: options.signal})
    const {process} = await tasks.get({containerId: id, execId})
    if (!process || process.pid !== pid || processStatus(process.status) !== 'stopped') return undefined
    const exit: ExecExit = {execId, pid, exitStatus: process.exitStatus, exitedAt: process.exitedAt}
    await recordExecExit(client, id, exit)
    await tasks.deleteProcess({containerId: id, execId})
    return exit
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}

/** Adds one record, and removes the oldest beyond MAX_EXEC_EXITS (each by its own label key: no lost update). */
async function recordExecExit(client: ContainerdClient, id: string, exit: ExecExit): Promise<void> {
  const containers = client.service(ContainersDefinition)
  const {container} = await containers.get({id})
  const key = EXEC_EXIT_LABEL_PREFIX + exit.execId
  const value = JSON.stringify({pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt?.toISOString()})
  const dropped = execExits(container?.labels ?? {})
    .filter((old) => old.execId !== exit.execId)
    .slice(MAX_EXEC_EXITS - 1)
    .map((old) => EXEC_EXIT_LABEL_PREFIX + old.execId)
  await setLabels(client, id, {[key]: value, ...Object.fromEntries(dropped.map((k) => [k, '']))})
}

/** Sets (or with '' removes) these labels only. */
async function setLabels(client: ContainerdClient, id: string, labels: Record<string, string>): Promise<void> {
  await client.service(ContainersDefinition).update({container: {id, labels}, updateMask: Object.keys(labels).map((k) => `labels.${k}`)})
}

/** Drops the record of `execId` if the container has one (an ID used again starts with a clean slate). */
export async function forgetExecExit(client: ContainerdClient, id: string, execId: string, labels: Record<string, string>): Promise<void> {
  if (EXEC_EXIT_LABEL_PREFIX + execId in labels) await setLabels(client, id, {[EXEC_EXIT_LABEL_PREFIX + execId]: ''})
}

export interface DeleteExecResult {
  id: string
  execId: string
  /** What was removed: the process from containerd, ctr's record of its exit, or both. */
  removed: Array<'process' | 'record'>
}

/**
 * `containers delete --exec-id`: removes an exec process (one that exited; a running one only with force,
 * SIGKILL first) and ctr's record of it. Either may be absent; neither is an error naming both.
 */
export async function deleteExec(client: ContainerdClient, id: string, execId: string, options: {force?: boolean} = {}): Promise<DeleteExecResult> {
  const tasks = client.service(TasksDefinition)
  const {labels} = await requireContainer(client, id)
  const removed: DeleteExecResult['removed'] = []
  const process = await tasks
    .get({containerId: id, execId})
    .then((r) => r.process)
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') return undefined
      throw error
    })
  if (process) {
    const status = processStatus(process.status)
    if (status !== 'stopped' && status !== 'created') {
      if (!options.force) {
        throw new CtrError(
          'failed-precondition',
          `exec process "${execId}" in container "${id}" is ${status}: stop it first (ctr containers kill --exec-id ${execId} ${id}) or use --force`,
        )
      }
      await tasks.kill({containerId: id, execId, signal: SIGKILL}).catch(() => undefined)
      await tasks.wait({containerId: id, execId}, {timeoutMs: 10_000})
    }
    await tasks.deleteProcess({containerId: id, execId})
    removed.push('process')
  }
  if (EXEC_EXIT_LABEL_PREFIX + execId in labels) {
    await forgetExecExit(client, id, execId, labels)
    removed.push('record')
  }
  if (removed.length === 0) throw new CtrError('not-found', `container "${id}" has no exec process "${execId}"`)
  return {id, execId, removed}
}
