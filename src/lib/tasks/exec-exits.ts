/**
 * Exec processes after they exit. containerd keeps an exited exec process (and so its ID) until someone
 * calls Tasks.DeleteProcess or the task goes, and it has no call that lists a task's exec processes: ListPids
 * sees only live PIDs. So ctr keeps what is worth knowing of an exited detached exec on the container record,
 * one label each (`io.ctr.exec-exit.<exec ID>` = `{"pid":…,"exitStatus":…,"exitedAt":…,"initPid":…}`, about
 * the newest MAX_EXEC_EXITS), and removes the process itself:
 *
 * - reapExec (run by the CLI in a detached process after a detached `exec`, or by library users): waits for
 *   the exit, records it, deletes the process, so its ID can be used again at once;
 * - `ps --all` lists the records beside the live processes (listProcesses);
 * - deleteExec (`containers delete --exec-id`) removes a record, or an exec process of any origin.
 *
 * Labels, not extensions: containerd 1.6 can delete one label through Update's `labels.<key>` mask (an empty
 * value), but never an extension key.
 */
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Process} from '../../gen/containerd/types/task/task'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer, setLabels} from '../containers/containers'
import {sleep} from '../sleep'
import {checkExecId} from './exec-spec'
import {SIGKILL} from './signals'
import {type ProcessStatus, processStatus} from './status'
import {waitContainer} from './wait'

export const EXEC_EXIT_LABEL_PREFIX = 'io.ctr.exec-exit.'
/**
 * Records kept per container: the newest by exit time. A soft cap: two reapers pruning at the same moment
 * may leave one more.
 */
export const MAX_EXEC_EXITS = 32

export interface ExecExit {
  execId: string
  pid: number
  /** 128+N when killed by signal N. */
  exitStatus: number
  exitedAt?: Date
  /** The PID of the task's init when it ran: a record of an earlier task of the container is not this one's. */
  initPid?: number
}

/** The exit records among a container's labels, newest first; malformed ones are skipped. */
export function execExits(labels: Record<string, string>): ExecExit[] {
  const exits: ExecExit[] = []
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(EXEC_EXIT_LABEL_PREFIX)) continue
    try {
      const parsed = JSON.parse(value) as {pid?: unknown; exitStatus?: unknown; exitedAt?: unknown; initPid?: unknown}
      if (typeof parsed.pid !== 'number' || typeof parsed.exitStatus !== 'number') continue
      exits.push({
        execId: key.slice(EXEC_EXIT_LABEL_PREFIX.length),
        pid: parsed.pid,
        exitStatus: parsed.exitStatus,
        exitedAt: typeof parsed.exitedAt === 'string' ? new Date(parsed.exitedAt) : undefined,
        initPid: typeof parsed.initPid === 'number' ? parsed.initPid : undefined,
      })
    } catch {
      // someone else's label of the same shape: not ours to read
    }
  }
  return newestFirst(exits)
}

const newestFirst = (exits: ExecExit[]) => exits.sort((a, b) => (b.exitedAt?.getTime() ?? 0) - (a.exitedAt?.getTime() ?? 0))

/**
 * Whether a process has exited. Not from its status alone: in a paused container the shim reports every
 * process as paused, exited ones too; those have an exit time (a live one's is Go's zero time, before 1970).
 */
function hasExited(process: Process): boolean {
  return processStatus(process.status) === 'stopped' || (process.exitedAt?.getTime() ?? 0) > 0
}

/**
 * Waits for a started exec process to exit, then deletes it and records its exit on the container. The PID
 * from Tasks.Start tells this process from a newer one given the same exec ID: a reaper that starts late
 * (the ID already reused) or finds the process deleted by someone else (`delete --exec-id`, a reuse) ends
 * quietly, leaving any record to them, as it does when the container goes first.
 */
export async function reapExec(
  client: ContainerdClient,
  target: {id: string; execId: string; pid: number},
  options: {signal?: AbortSignal} = {},
): Promise<ExecExit | undefined> {
  const {id, execId, pid} = target
  const tasks = client.service(TasksDefinition)
  const get = (exec: string) => tasks.get({containerId: id, execId: exec}).then((r) => r.process)
  try {
    const [before, init] = await Promise.all([get(execId), get('')])
    if (before?.pid !== pid) return undefined
    await waitContainer(client, id, {execId, signal: options.signal})
    const after = await get(execId)
    if (after?.pid !== pid || !hasExited(after)) return undefined
    // Deleted first, recorded after: whoever's DeleteProcess succeeds is the one that reports the exit.
    const deleted = await tasks.deleteProcess({containerId: id, execId})
    if (deleted.pid !== pid) return undefined
    const exit: ExecExit = {execId, pid, exitStatus: deleted.exitStatus, exitedAt: deleted.exitedAt, initPid: init?.pid}
    await recordExecExit(client, id, exit)
    return exit
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}

/** Adds one record, ranked with the others: the oldest beyond MAX_EXEC_EXITS go (each its own label key). */
async function recordExecExit(client: ContainerdClient, id: string, exit: ExecExit): Promise<void> {
  const {labels} = await requireContainer(client, id)
  const ranked = newestFirst([...execExits(labels).filter((old) => old.execId !== exit.execId), exit])
  const kept = ranked.slice(0, MAX_EXEC_EXITS)
  const update: Record<string, string> = Object.fromEntries(ranked.slice(MAX_EXEC_EXITS).map((old) => [EXEC_EXIT_LABEL_PREFIX + old.execId, '']))
  if (kept.includes(exit)) {
    update[EXEC_EXIT_LABEL_PREFIX + exit.execId] = JSON.stringify({
      pid: exit.pid,
      exitStatus: exit.exitStatus,
      exitedAt: exit.exitedAt?.toISOString(),
      initPid: exit.initPid,
    })
  }
  if (Object.keys(update).length > 0) await setLabels(client, id, update)
}

/** Drops the record of `execId` if the container's `labels` have one; true if they had. */
export async function forgetExecExit(client: ContainerdClient, id: string, execId: string, labels: Record<string, string>): Promise<boolean> {
  if (!(EXEC_EXIT_LABEL_PREFIX + execId in labels)) return false
  await setLabels(client, id, {[EXEC_EXIT_LABEL_PREFIX + execId]: ''})
  return true
}

/**
 * What removeExecProcess found: it deleted the process; there was none; another client deleted it as it
 * went (its reaper); or it is still busy (running, or paused) and was left alone.
 */
export type ExecRemoval = {result: 'deleted' | 'absent' | 'deleted-by-another'} | {result: 'busy'; status: ProcessStatus}

/**
 * The one way ctr deletes an exec process: if it has exited or never started (created); with force, a live
 * one after SIGKILL and its exit (waitMs, default 10 s). A live process in a paused container cannot take
 * the signal: refused, as `containers delete` refuses to wait on a frozen task.
 */
export async function removeExecProcess(
  client: ContainerdClient,
  id: string,
  execId: string,
  options: {force?: boolean; waitMs?: number} = {},
): Promise<ExecRemoval> {
  const tasks = client.service(TasksDefinition)
  const process = await tasks
    .get({containerId: id, execId})
    .then((r) => r.process)
    .catch(unlessNotFound)
  if (!process) return {result: 'absent'}
  const status = processStatus(process.status)
  if (!hasExited(process) && status !== 'created') {
    if (!options.force) return {result: 'busy', status}
    if (status === 'paused' || status === 'pausing') {
      throw new CtrError('failed-precondition', `container "${id}" is paused: resume it first (ctr containers resume ${id}), then delete the exec process`)
    }
    await tasks.kill({containerId: id, execId, signal: SIGKILL}).catch(unlessNotFound)
    await tasks.wait({containerId: id, execId}, {timeoutMs: options.waitMs ?? 10_000}).catch(unlessNotFound)
  }
  const deleted = await tasks.deleteProcess({containerId: id, execId}).catch(unlessNotFound)
  return {result: deleted ? 'deleted' : 'deleted-by-another'}
}

function unlessNotFound(error: unknown): undefined {
  if (error instanceof CtrError && error.kind === 'not-found') return undefined
  throw error
}

export interface DeleteExecResult {
  id: string
  execId: string
  /** What was removed: the process from containerd, ctr's record of its exit, or both. */
  removed: Array<'process' | 'record'>
}

/** How long deleteExec waits for the record of a reaper that deleted the process just before it did. */
const REAPER_RECORD_WAIT_MS = 2000

/**
 * `containers delete --exec-id`: removes an exec process (one that exited; a running one only with force)
 * and ctr's record of it. Either may be absent; neither is an error.
 */
export async function deleteExec(client: ContainerdClient, id: string, execId: string, options: {force?: boolean} = {}): Promise<DeleteExecResult> {
  checkExecId(execId)
  await requireContainer(client, id)
  const removal = await removeExecProcess(client, id, execId, {force: options.force})
  if (removal.result === 'busy') {
    throw new CtrError(
      'failed-precondition',
      `container "${id}": exec process "${execId}" is ${removal.status}: stop it first (ctr containers kill --exec-id ${execId} ${id}) or use --force`,
    )
  }
  const key = EXEC_EXIT_LABEL_PREFIX + execId
  let {labels} = await requireContainer(client, id)
  // Its reaper got there first: it writes the record right after its DeleteProcess; that goes too.
  for (const until = Date.now() + REAPER_RECORD_WAIT_MS; removal.result === 'deleted-by-another' && !(key in labels) && Date.now() < until;) {
    await sleep(50)
    labels = (await requireContainer(client, id)).labels
  }
  const removed: DeleteExecResult['removed'] = removal.result === 'absent' ? [] : ['process']
  if (await forgetExecExit(client, id, execId, labels)) removed.push('record')
  if (removed.length === 0) throw new CtrError('not-found', `container "${id}" has no exec process "${execId}"`)
  return {id, execId, removed}
}
