/**
 * Running another process in a running container: Tasks.Exec → Tasks.Wait → Tasks.Start → (output, exit) →
 * Tasks.DeleteProcess, as Go ctr's `tasks exec` does. Wait is called before Start so a fast exit is never
 * missed. Detached execs get null stdio (all paths empty: the shim discards output), so they never block on
 * a full pipe nobody reads, and are left running, marked on the container: the next ctr to touch it records
 * their exits and deletes them (reapExecs, exec-exits.ts). Nothing of ctr's waits for them.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {exitOrEnd, forwardSignalsAcrossStart, type SessionEnd} from './attach'
import {withCleanupClient} from '../containerd/cleanup-client'
import {trackInFlight} from '../in-flight'
import {cleanUpAfterLostConnection} from './start'
import type {ContainerdClient} from '../containerd/client'
import {setLabels} from '../containers/containers'
import {CtrError} from '../containerd/errors'
import {checkExecId, checkOverrides, deriveProcessSpec, type ExecOverrides, newExecId, type OciProcess} from './exec-spec'
import {DETACHED_EXEC_LABEL_PREFIX, detachedExecLabel, EXEC_EXIT_LABEL_PREFIX, forgetExecExit, reapExecs, removeExecProcess} from './exec-exits'
import {withContainer} from './processes'
import {processStartError} from './runtime-errors'
import {processStatus} from './status'
import {NULL_STDIO, type StdioPaths} from './stdio'
import {resolveUser, type UserSpec} from './users'

const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process'

export interface ExecOptions extends ExecOverrides {
  /** The container to run the process in. */
  id: string
  /** Name of the exec process; default a fresh `exec-<hex>`. */
  execId?: string
  /** `-u` as given: names resolve in the container's /etc/passwd and /etc/group; uid/gid win if also set. */
  user?: UserSpec
}

/** The stdio of an attached exec: attach.ts's attachStdio, or any stand-in of the same shape (tests). */
export interface ExecIo {
  /** FIFO paths (or '' for none) for Tasks.Exec; read ends must already be open. */
  readonly paths: StdioPaths
  /** Called once the process has started: wire stdin (EOF → CloseIO), terminal mode and size. */
  started(target: {containerId: string; execId: string}): Promise<void>
  /** Resolves when the process's output has been copied, or after a grace period. */
  drained(): Promise<void>
  /** Removes FIFOs and restores the terminal; safe to call more than once and on every path. */
  close(): Promise<void>
  /** Resolves if the session must end before the process does (stdout failed, hang-up); see attach.ts. */
  readonly ended?: Promise<SessionEnd>
  endedBy?(): SessionEnd | undefined
}

export interface ExecHooks {
  /** Creates the stdio for an attached exec (FIFOs with read ends open). Without it the exec is detached. */
  io?: (execId: string, terminal: boolean) => Promise<ExecIo>
  /** Forward the signals ctr receives (attach.ts PROXIED_SIGNALS) to the attached process while it runs. */
  forwardSignals?: boolean
  /**
   * Attached only: called just before Tasks.Start, with whether ctr's signals now go to the process. The
   * process may print (and the user react) before Start answers: the command should stop treating those
   * signals as its own abort from here, and hold its other interrupts until onStarted.
   */
  onStarting?: (forwarding: boolean) => void
  /** Called once the process runs and its stdio is wired. */
  onStarted?: () => void
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

export async function execProcess(client: ContainerdClient, options: ExecOptions, hooks: ExecHooks = {}): Promise<ExecResult> {
  checkExecOptions(options)
  const {id} = options
  const execId = options.execId ?? newExecId()
  const tasks = client.service(TasksDefinition)
  const {spec: container, labels: recorded} = await containerRecord(client, id)
  const initPid = await requireRunning(client, id)
  const resolved = options.user ? await containerUser(client, options.user, id, initPid) : {}
  const spec = deriveProcessSpec(container?.process, {...options, uid: options.uid ?? resolved.uid, gid: options.gid ?? resolved.gid})

  const io = hooks.io ? await hooks.io(execId, Boolean(options.terminal)) : undefined
  // Touching the container reaps its detached execs that exited: alongside this exec (best effort, awaited
  // before returning), or first when its ID is one of them, so the ID is free.
  const reaping = reapExecs(client, id, {labels: recorded}).catch(() => ({labels: recorded}))
  const {labels} = options.execId !== undefined && DETACHED_EXEC_LABEL_PREFIX + options.execId in recorded ? await reaping : {labels: recorded}
  let created = false
  let marked = false
  let started = false
  let exited: Promise<{exitStatus: number; exitedAt?: Date}> | undefined
  let exitStatus: number | undefined
  let forwarding: ReturnType<typeof forwardSignalsAcrossStart> | undefined
  let forgetExec: (() => void) | undefined
  // Wait is cancelled through this once the process is deleted on a failure path.
  const waitAbort = new AbortController()
  try {
    const request = {
      containerId: id,
      execId,
      ...(io?.paths ?? NULL_STDIO),
      terminal: Boolean(options.terminal),
      spec: {typeUrl: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(spec))},
    }
    await tasks.exec(request).catch(async (error) => {
      if (!(error instanceof CtrError && error.kind === 'already-exists')) throw execError(error, id, execId)
      // The ID is held by a process that exited and was never deleted (Go ctr's detached execs): it is done
      // with, so the ID is free to use again.
      const removal = await removeExecProcess(client, id, execId)
      if (removal.result === 'busy') {
        throw new CtrError('already-exists', `container "${id}" already has a ${removal.status} exec process "${execId}"`, {cause: error})
      }
      await tasks.exec(request).catch((again) => {
        throw execError(again, id, execId)
      })
    })
    created = true
    if (io) {
      // An ID used again: its old exit record (exec-exits.ts) would describe another process.
      if (options.execId !== undefined) await forgetExecExit(client, id, execId, labels).catch(() => undefined)
    } else {
      // Marked before it starts, so no detached exec runs unknown to the next reap; the old record goes too.
      await setLabels(client, id, {
        ...detachedExecLabel(execId, initPid),
        ...(EXEC_EXIT_LABEL_PREFIX + execId in labels ? {[EXEC_EXIT_LABEL_PREFIX + execId]: ''} : {}),
      })
      marked = true
    }
    forgetExec = trackInFlight(`exec "${execId}" in container "${id}"`)
    if (io) {
      const waitSignal = hooks.signal ? AbortSignal.any([hooks.signal, waitAbort.signal]) : waitAbort.signal
      exited = tasks.wait({containerId: id, execId}, {timeoutMs: null, signal: waitSignal})
      exited.catch(() => undefined) // observed below; a start failure must not leave an unhandled rejection
    }
    // Forwarding begins just before Tasks.Start, as for an attached start (forwardSignalsAcrossStart).
    if (io && hooks.forwardSignals) forwarding = forwardSignalsAcrossStart((signal) => tasks.kill({containerId: id, execId, signal}))
    if (io) hooks.onStarting?.(Boolean(hooks.forwardSignals))
    const {pid} = await tasks.start({containerId: id, execId}).catch((error) => {
      throw processStartError(error, {id, command: options.args[0], exec: true}) ?? withContainer(error, id)
    })
    started = true
    if (!io || !exited) return {id, execId, pid}

    await io.started({containerId: id, execId})
    await forwarding?.release()
    hooks.onStarted?.()
    const outcome = await exitOrEnd(exited, io, (signal) => tasks.kill({containerId: id, execId, signal})).catch(async (error) => {
      if (!(error instanceof CtrError && error.kind === 'unavailable')) throw error
      throw await cleanUpAfterLostConnection(client, error, `exec "${execId}" in container "${id}"`, async (c) => {
        await removeExecProcess(c, id, execId, {force: true})
      })
    })
    // stdout broke or the terminal hung up: the process was told; `finally` kills what is left and deletes it.
    if (outcome.end) throw outcome.end.error
    const status = outcome.exit
    exitStatus = status.exitStatus
    // Output still in the pipes arrives after the exit (drained() gives up after a grace period, so a
    // background child holding them open cannot hang ctr).
    await io.drained()
    const late = io.endedBy?.()
    if (late) throw late.error // stdout broke after the process had written its last (`| head -1`)
    return {id, execId, pid, exitStatus, exitedAt: status.exitedAt}
  } finally {
    forwarding?.stop()
    waitAbort.abort()
    // A detached exec that started is left running; anything else we created is ours to remove.
    if (created && (io || !started)) await removeExec(client, id, execId, started && exitStatus === undefined, hooks.signal, marked)
    await io?.close()
    forgetExec?.()
    await reaping
  }
}

/**
 * Deletes an exec process, killing it first if it may still run (ctr was interrupted or a stream failed).
 * Uses a fresh connection when the command's own was aborted by Ctrl-C, so clean-up still reaches containerd.
 */
async function removeExec(client: ContainerdClient, id: string, execId: string, mayRun: boolean, signal?: AbortSignal, marked = false): Promise<void> {
  await withCleanupClient(client, signal, async (cleanup) => {
    // A detached exec that never started: its mark (exec-exits.ts) goes with it.
    if (marked) await setLabels(cleanup, id, {[DETACHED_EXEC_LABEL_PREFIX + execId]: ''}).catch(() => undefined)
    // Exited or never started: straight to DeleteProcess (one call on every attached exec's way out).
    if (mayRun) await removeExecProcess(cleanup, id, execId, {force: true, waitMs: 5000}).catch(() => undefined)
    else
      await cleanup
        .service(TasksDefinition)
        .deleteProcess({containerId: id, execId})
        .catch(() => undefined)
  })
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
