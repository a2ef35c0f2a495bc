/**
 * Exec processes after they exit. containerd keeps an exited exec process (and so its ID, and its exit
 * status) until someone calls Tasks.DeleteProcess or the task goes, and it has no call that lists a task's
 * exec processes: ListPids sees only live PIDs. So ctr remembers on the container record, one label each:
 *
 * - the detached execs it started and has not reaped yet (`io.ctr.exec.<exec ID>` = `{"initPid":…}`), set
 *   by execProcess before Tasks.Start;
 * - what is worth knowing of those that exited (`io.ctr.exec-exit.<exec ID>` =
 *   `{"pid":…,"exitStatus":…,"exitedAt":…,"initPid":…}`, about the newest MAX_EXEC_EXITS).
 *
 * Nothing waits for a detached exec: reapExecs, run whenever ctr next touches the container (exec, ps,
 * delete --exec-id), asks containerd about each one remembered, and for those that exited records the exit
 * and deletes the process, so its ID can be used again. `ps --all` lists the records beside the live
 * processes (listProcesses); deleteExec (`containers delete --exec-id`) removes a record, or an exec process
 * of any origin.
 *
 * Labels, not extensions: containerd 1.6 can delete one label through Update's `labels.<key>` mask (an empty
 * value), but never an extension key.
 */
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Process} from '../../gen/containerd/types/task/task'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'
import {requireContainer, setLabels} from '../containers/containers'
import {sleep} from '../sleep'
import {checkExecId} from './exec-spec'
import {SIGKILL} from './signals'
import {type ProcessStatus, processStatus} from './status'

/** A detached exec ctr started and has not reaped: its ID, and the task's init PID when it started. */
export const DETACHED_EXEC_LABEL_PREFIX = 'io.ctr.exec.'
export const EXEC_EXIT_LABEL_PREFIX = 'io.ctr.exec-exit.'
/**
 * Records kept per container: the newest by exit time. A soft cap: two ctrs pruning at the same moment
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

/** The labels that mark `execId` as a detached exec of the task whose init is `initPid`, still to be reaped. */
export function detachedExecLabel(execId: string, initPid: number): Record<string, string> {
  return {[DETACHED_EXEC_LABEL_PREFIX + execId]: JSON.stringify({initPid})}
}

/** The detached execs marked among a container's labels (detachedExecLabel). */
function detachedExecs(labels: Record<string, string>): Array<{execId: string; initPid?: number}> {
  return Object.entries(labels).flatMap(([key, value]) => {
    if (!key.startsWith(DETACHED_EXEC_LABEL_PREFIX)) return []
    let initPid: unknown
    try {
      initPid = (JSON.parse(value) as {initPid?: unknown}).initPid
    } catch {
      // a mark ctr did not write: still a name to ask containerd about
    }
    return [{execId: key.slice(DETACHED_EXEC_LABEL_PREFIX.length), initPid: typeof initPid === 'number' ? initPid : undefined}]
  })
}

/**
 * Reaps the container's detached execs that have exited: for each marked one, Tasks.Get; one that exited is
 * deleted, then its exit recorded (whoever's DeleteProcess succeeds is the one that records it, so two ctrs
 * reaping at once never both do); one containerd no longer has (deleted by another client, the task gone)
 * loses its mark; a live or never-started one keeps it. All marks and records change in one Update. Returns
 * the exits recorded, and the container's labels as they are after that Update (`labels`, when given, are
 * the container's as just read: saves reading them again). A process ctr cannot ask about now is left for
 * the next time.
 *
 * One narrow window remains, as with any lazy clean-up by several clients: an ID freed here and used again
 * by another ctr before this Update lands loses its newer mark (the newer process then stays in containerd
 * once it exits, until its ID is used again or `delete --exec-id`).
 */
export async function reapExecs(
  client: ContainerdClient,
  id: string,
  options: {labels?: Record<string, string>} = {},
): Promise<{exits: ExecExit[]; labels: Record<string, string>}> {
  const labels = options.labels ?? (await requireContainer(client, id)).labels
  const marked = detachedExecs(labels)
  if (marked.length === 0) return {exits: [], labels}
  const tasks = client.service(TasksDefinition)
  const update: Record<string, string> = {}
  const exits: ExecExit[] = []
  await Promise.all(
    marked.map(async ({execId, initPid}) => {
      try {
        const process = await tasks
          .get({containerId: id, execId})
          .then((r) => r.process)
          .catch(unlessNotFound)
        if (process && !hasExited(process)) return
        const deleted = process ? await tasks.deleteProcess({containerId: id, execId}).catch(unlessNotFound) : undefined
        update[DETACHED_EXEC_LABEL_PREFIX + execId] = ''
        if (deleted) exits.push({execId, pid: deleted.pid, exitStatus: deleted.exitStatus, exitedAt: deleted.exitedAt, initPid})
      } catch {
        // containerd could not say (or delete) now: the mark stays for the next reap
      }
    }),
  )
  Object.assign(update, exitRecordLabels(labels, exits))
  if (Object.keys(update).length > 0) await setLabels(client, id, update)
  const after = {...labels, ...update}
  for (const [key, value] of Object.entries(update)) if (value === '') delete after[key]
  return {exits, labels: after}
}

/**
 * The label changes that add `exits` to the records in `labels`, ranked with them: the oldest beyond
 * MAX_EXEC_EXITS go (each its own label key). A soft cap: two ctrs recording at the same moment may leave one
 * more.
 */
function exitRecordLabels(labels: Record<string, string>, exits: ExecExit[]): Record<string, string> {
  if (exits.length === 0) return {}
  const added = new Set(exits.map((exit) => exit.execId))
  const ranked = newestFirst([...execExits(labels).filter((old) => !added.has(old.execId)), ...exits])
  const update: Record<string, string> = Object.fromEntries(ranked.slice(MAX_EXEC_EXITS).map((old) => [EXEC_EXIT_LABEL_PREFIX + old.execId, '']))
  for (const exit of ranked.slice(0, MAX_EXEC_EXITS)) {
    if (!exits.includes(exit)) continue
    update[EXEC_EXIT_LABEL_PREFIX + exit.execId] = JSON.stringify({
      pid: exit.pid,
      exitStatus: exit.exitStatus,
      exitedAt: exit.exitedAt?.toISOString(),
      initPid: exit.initPid,
    })
  }
  return update
}

/**
 * Drops the record of `execId` and its mark as a detached exec, those of them the container's `labels` have;
 * true if there was a record.
 */
export async function forgetExecExit(client: ContainerdClient, id: string, execId: string, labels: Record<string, string>): Promise<boolean> {
  const keys = [EXEC_EXIT_LABEL_PREFIX + execId, DETACHED_EXEC_LABEL_PREFIX + execId].filter((key) => key in labels)
  if (keys.length > 0) await setLabels(client, id, Object.fromEntries(keys.map((key) => [key, ''])))
  return EXEC_EXIT_LABEL_PREFIX + execId in labels
}

/**
 * What removeExecProcess found: it deleted the process; there was none; another client deleted it as it
 * went (another ctr's reapExecs); or it is still busy (running, or paused) and was left alone.
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

/** How long deleteExec waits for the record of another ctr's reapExecs that deleted the process just before it did. */
const REAPER_RECORD_WAIT_MS = 2000

/**
 * `containers delete --exec-id`: removes an exec process (one that exited; a running one only with force)
 * and ctr's record of it. Either may be absent; neither is an error.
 */
export async function deleteExec(client: ContainerdClient, id: string, execId: string, options: {force?: boolean} = {}): Promise<DeleteExecResult> {
  checkExecId(execId)
  await reapExecs(client, id)
  const removal = await removeExecProcess(client, id, execId, {force: options.force})
  if (removal.result === 'busy') {
    throw optionError(
      'failed-precondition',
      (o) => `container "${id}": exec process "${execId}" is ${removal.status}: stop it first (kill it) or use ${o('force')}`,
    )
  }
  const mark = DETACHED_EXEC_LABEL_PREFIX + execId
  let {labels} = await requireContainer(client, id)
  // Another ctr reaping it got there first: its one Update (record written, mark dropped) follows its
  // DeleteProcess; the record goes too.
  for (const until = Date.now() + REAPER_RECORD_WAIT_MS; removal.result === 'deleted-by-another' && mark in labels && Date.now() < until;) {
    await sleep(50)
    labels = (await requireContainer(client, id)).labels
  }
  const removed: DeleteExecResult['removed'] = removal.result === 'absent' ? [] : ['process']
  if (await forgetExecExit(client, id, execId, labels)) removed.push('record')
  if (removed.length === 0) throw new CtrError('not-found', `container "${id}" has no exec process "${execId}"`)
  return {id, execId, removed}
}
