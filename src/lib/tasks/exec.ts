/**
 * Running another process in a running container: Tasks.Exec → Tasks.Wait → Tasks.Start → (output, exit) →
 * Tasks.DeleteProcess, as Go ctr's `tasks exec` does. Wait is called before Start so a fast exit is never
 * missed. Detached execs get null stdio (all paths empty: the shim discards output), so they never block on
 * a full pipe nobody reads, and are left running: reapExec (exec-exits.ts) removes them once they exit.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from '../containerd/client'
import {setLabels} from '../containers/containers'
import {CtrError} from '../containerd/errors'
import {type Leftover, UndoStack, withLeftover} from '../containerd/undo'
import {checkExecId, checkOverrides, deriveProcessSpec, type ExecOverrides, newExecId, type OciProcess} from './exec-spec'
import {DETACHED_EXEC_LABEL_PREFIX, detachedExecLabel, EXEC_EXIT_LABEL_PREFIX, forgetExecExit, reapExecs, removeExecProcess} from './exec-exits'
import {ContainerProcess, type ExecRequest, lostConnection, type ProcessIo, runAttached} from './process'
import {withContainer} from './processes'
import {processStartError} from './runtime-errors'
import {processStatus} from './status'
import {NULL_STDIO} from './stdio'
import {resolveUser, type UserSpec} from './users'
import {refuseUserOverSsh} from '../ssh/remote'

const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process'

export interface ExecOptions extends ExecOverrides {
  /** The container to run the process in. */
  id: string
  /** Name of the exec process; default a fresh `exec-<hex>`. */
  execId?: string
  /** `-u` as given: names resolve in the container's /etc/passwd and /etc/group; uid/gid win if also set. */
  user?: UserSpec
}

/** The stdio of an attached exec (process.ts ProcessIo). */
export type ExecIo = ProcessIo

export interface ExecHooks {
  /** Creates the stdio for an attached exec (FIFOs with read ends open). Without it the exec is detached. */
  io?: (execId: string, terminal: boolean) => Promise<ProcessIo>
  /**
   * Attached only: forward the signals ctr receives (attach.ts PROXIED_SIGNALS) to the process while it runs;
   * without it, ctr's own interrupt is held while Tasks.Start is under way (process.ts StartSignals).
   */
  forwardSignals?: boolean
  /** The command's abort signal (Ctrl-C): stops waiting; clean-up then uses a fresh connection. */
  signal?: AbortSignal
}

export interface ExecResult {
  id: string
  execId: string
  pid: number
  /** The process's exit status (128+N when killed by signal N); only when attached. */
  exitStatus?: number
  exitedAt?: Date
}

/** Everything that can be checked before containerd is asked anything. */
export function checkExecOptions(options: ExecOptions): void {
  if (options.execId !== undefined) checkExecId(options.execId)
  checkOverrides(options)
}

/**
 * Tasks.Exec → (attached: runAttached) → Tasks.DeleteProcess. Whatever was created is on one undo stack:
 * on every path but a detached exec that started, the process is removed (killed first if it may still
 * run), on a fresh connection after Ctrl-C, retried while containerd is away.
 */
export async function execProcess(client: ContainerdClient, options: ExecOptions, hooks: ExecHooks = {}): Promise<ExecResult> {
  checkExecOptions(options)
  const {id} = options
  const execId = options.execId ?? newExecId()
  const undo = new UndoStack()
  // The container's record, its task and (attached) the stdio FIFOs at once: independent round-trips, and
  // mkfifo is a process of its own. Their errors are told in that order, as when they ran in turn.
  const [record, task, opened] = await Promise.allSettled([
    containerRecord(client, id),
    requireRunning(client, id),
    hooks.io ? hooks.io(execId, Boolean(options.terminal)) : undefined,
  ])
  const io = opened.status === 'fulfilled' ? opened.value : undefined
  if (io) undo.defer(() => io.close(), {local: true})
  if (record.status === 'rejected' || task.status === 'rejected' || opened.status === 'rejected') {
    await undo.unwind(client)
    throw [record, task, opened].find((settled) => settled.status === 'rejected')!.reason
  }
  const {spec: container, labels: recorded} = record.value
  const initPid = task.value
  // Touching the container reaps its detached execs that exited: alongside this exec (best effort, awaited
  // before returning), or first when its ID is one of them, so the ID is free.
  const reaping = reapExecs(client, id, {labels: recorded}).catch(() => ({labels: recorded}))
  let process: ContainerProcess | undefined
  let marking: Promise<void> | undefined
  try {
    const resolved = options.user ? await containerUser(client, options.user, id, initPid) : {}
    const spec = deriveProcessSpec(container?.process, {...options, uid: options.uid ?? resolved.uid, gid: options.gid ?? resolved.gid})
    const {labels} = options.execId !== undefined && DETACHED_EXEC_LABEL_PREFIX + options.execId in recorded ? await reaping : {labels: recorded}
    const request: ExecRequest = {
      containerId: id,
      execId,
      stdio: io?.paths ?? NULL_STDIO,
      terminal: Boolean(options.terminal),
      spec: {typeUrl: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(spec))},
    }
    // A detached exec is marked before it starts, so none runs unknown to the next reap; the mark goes in
    // beside Tasks.Exec (one round-trip less), and comes off again if the exec is not created or not started.
    // An ID that has a mark (a live exec: the reap left it) or an exit record changes them only once the new
    // process exists: then in turn.
    const oldRecord = EXEC_EXIT_LABEL_PREFIX + execId in labels
    const inUse = oldRecord || DETACHED_EXEC_LABEL_PREFIX + execId in labels
    marking = io || inUse ? undefined : markDetached(client, id, execId, initPid, undo)
    marking?.catch(() => undefined) // told below, after Tasks.Exec's own error
    process = await ContainerProcess.exec(client, request, undo).catch(async (error) => {
      if (!(error instanceof CtrError && error.kind === 'already-exists')) throw execError(error, id, execId)
      // The ID is held by a process that exited and was never deleted (Go ctr's detached execs): it is done
      // with, so the ID is free to use again.
      const removal = await removeExecProcess(client, id, execId)
      if (removal.result === 'busy') {
        throw new CtrError('already-exists', `container "${id}" already has a ${removal.status} exec process "${execId}"`, {cause: error})
      }
      return ContainerProcess.exec(client, request, undo).catch((again) => {
        throw execError(again, id, execId)
      })
    })
    if (io) {
      // An ID used again: its old exit record (exec-exits.ts) would describe another process.
      if (options.execId !== undefined) await forgetExecExit(client, id, execId, labels).catch(() => undefined)
    } else if (marking) {
      await marking
    } else {
      // The old record goes with the same Update that marks the new process.
      await markDetached(client, id, execId, initPid, undo, oldRecord ? {[EXEC_EXIT_LABEL_PREFIX + execId]: ''} : {})
    }
    const startError = (error: unknown) =>
      process?.started ? error : (processStartError(error, {id, command: options.args[0], exec: true}) ?? withContainer(error, id))
    if (!io) {
      const pid = await process.start({signal: hooks.signal}).catch((error) => {
        throw startError(error)
      })
      undo.dismiss() // a detached exec runs on: the next ctr that touches the container reaps it (exec-exits.ts)
      return {id, execId, pid}
    }
    const {exitStatus, exitedAt} = await runAttached(process, io, {forwardSignals: hooks.forwardSignals, signal: hooks.signal}).catch((error) => {
      throw startError(error)
    })
    await undo.unwind(client) // DeleteProcess, then the FIFOs
    return {id, execId, pid: process.pid, exitStatus, exitedAt}
  } catch (error) {
    await marking?.catch(() => undefined) // settled first: its removal must not overtake it
    const left = await undo.unwind(client, {failure: error, signal: hooks.signal})
    if (process?.started && error instanceof CtrError && error.kind === 'unavailable') throw lostConnection(error, process.label, left)
    throw withLeftover(client, error, execLeftover(id, execId, left))
  } finally {
    await reaping
  }
}

/** Marks a detached exec on its container (exec-exits.ts), with its removal on the undo stack. */
async function markDetached(
  client: ContainerdClient,
  id: string,
  execId: string,
  initPid: number,
  undo: UndoStack,
  more: Record<string, string> = {},
): Promise<void> {
  const unmark = undo.defer((c) => setLabels(c, id, {[DETACHED_EXEC_LABEL_PREFIX + execId]: ''})) // a start that fails: no mark
  await setLabels(client, id, {...detachedExecLabel(execId, initPid), ...more}).catch((error) => {
    unmark.dismiss()
    throw error
  })
}

/** What an exec's roll-back could not remove, in one phrase with how to remove it. */
function execLeftover(id: string, execId: string, left: Leftover | undefined): {what: string; why: Leftover['why']} | undefined {
  if (!left) return undefined
  return {what: `exec process "${execId}" in container "${id}" (remove with: ctr containers delete --force --exec-id ${execId} ${id})`, why: left.why}
}

/** The container's own spec (Containers.Get → spec Any JSON): its process; and its labels (exec exit records). */
async function containerRecord(client: ContainerdClient, id: string): Promise<{spec?: {process?: OciProcess}; labels: Record<string, string>}> {
  const {container} = await client.service(ContainersDefinition).get({id})
  const labels = container?.labels ?? {}
  const spec = container?.spec
  if (!spec?.value?.length) return {labels}
  try {
    return {spec: JSON.parse(Buffer.from(spec.value).toString('utf8')) as {process?: OciProcess}, labels}
  } catch {
    throw new CtrError('internal', `container "${id}" has a runtime spec that is not valid JSON`)
  }
}

/**
 * `-u` in the running container's own files, through its init's /proc/PID/root: never the spec's root.path
 * (relative for a container made from an image: it would be read from ctr's working directory) nor a label.
 * The task is asked again afterwards: still running with that PID, the root read was its own (a PID is
 * reused only once its process is gone, and then the task is no longer running).
 */
async function containerUser(client: ContainerdClient, user: UserSpec, id: string, pid: number): Promise<{uid?: number; gid?: number}> {
  refuseUserOverSsh(client, user.user, user.group)
  const resolved = await resolveUser(user, `/proc/${pid}/root`, id)
  if ((await requireRunning(client, id)) !== pid) throw new CtrError('failed-precondition', `container "${id}" was restarted while its users were looked up`)
  return resolved
}

/** The task's init PID, once it is known to be running. */
async function requireRunning(client: ContainerdClient, id: string): Promise<number> {
  const task = await client
    .service(TasksDefinition)
    .get({containerId: id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('failed-precondition', `container "${id}" is not running`, {cause: error})
      throw error
    })
  const status = processStatus(task.process?.status)
  if (status === 'running') return task.process!.pid
  const state = status === 'paused' || status === 'pausing' ? 'paused' : status === 'created' ? 'created, not started' : 'not running'
  throw new CtrError('failed-precondition', `container "${id}" is ${state}`)
}

function execError(error: unknown, id: string, execId: string): unknown {
  if (error instanceof CtrError && error.kind === 'already-exists') {
    return new CtrError('already-exists', `container "${id}" already has an exec process "${execId}"`, {cause: error})
  }
  return withContainer(error, id)
}
