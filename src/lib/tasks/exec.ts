/**
 * Running another process in a running container: Tasks.Exec → Tasks.Wait → Tasks.Start → (output, exit) →
 * Tasks.DeleteProcess, as Go ctr's `tasks exec` does. Wait is called before Start so a fast exit is never
 * missed. Detached execs get null stdio (all paths empty: the shim discards output), so they never block on
 * a full pipe nobody reads, and are left for containerd to keep until the container's task is deleted.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {Status} from '../../gen/containerd/types/task/task'
import {proxySignals} from './attach'
import {ContainerdClient} from '../containerd/client'
import {CtrError, EXIT} from '../containerd/errors'
import {checkExecId, checkOverrides, deriveProcessSpec, type ExecOverrides, newExecId, type OciProcess} from './exec-spec'
import {withContainer} from './processes'
import {SIGKILL} from './signals'
import {NULL_STDIO, type StdioPaths} from './stdio'

const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process'

export interface ExecOptions extends ExecOverrides {
  /** The container to run the process in. */
  id: string
  /** Name of the exec process; default a fresh `exec-<hex>`. */
  execId?: string
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
  const spec = deriveProcessSpec(await containerProcess(client, id), options)
  await requireRunning(client, id)

  const io = hooks.io ? await hooks.io(execId, Boolean(options.terminal)) : undefined
  let created = false
  let started = false
  let exited: Promise<{exitStatus: number; exitedAt?: Date}> | undefined
  let exitStatus: number | undefined
  let stopForwarding: (() => void) | undefined
  // Wait is cancelled through this once the process is deleted on a failure path.
  const waitAbort = new AbortController()
  try {
    await tasks
      .exec({
        containerId: id,
        execId,
        ...(io?.paths ?? NULL_STDIO),
        terminal: Boolean(options.terminal),
        spec: {typeUrl: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(spec))},
      })
      .catch((error) => {
        throw execError(error, id, execId)
      })
    created = true
    if (io) {
      const waitSignal = hooks.signal ? AbortSignal.any([hooks.signal, waitAbort.signal]) : waitAbort.signal
      exited = tasks.wait({containerId: id, execId}, {timeoutMs: null, signal: waitSignal})
      exited.catch(() => undefined) // observed below; a start failure must not leave an unhandled rejection
    }
    // Forwarding begins just before Tasks.Start, as for an attached start: the process may write (and the
    // user react) before Start answers. Signals until then are held and delivered once it runs.
    const kill = (signal: number) => tasks.kill({containerId: id, execId, signal})
    const held: number[] = []
    if (io && hooks.forwardSignals) stopForwarding = proxySignals((signal) => (started ? kill(signal) : Promise.resolve(held.push(signal))))
    if (io) hooks.onStarting?.(Boolean(hooks.forwardSignals))
    const {pid} = await tasks.start({containerId: id, execId}).catch((error) => {
      throw startError(error, id, options.args[0])
    })
    started = true
    if (!io || !exited) return {id, execId, pid}

    await io.started({containerId: id, execId})
    for (const signal of held.splice(0)) await kill(signal).catch(() => undefined)
    hooks.onStarted?.()
    const status = await exited
    exitStatus = status.exitStatus
    // Output still in the pipes arrives after the exit (drained() gives up after a grace period, so a
    // background child holding them open cannot hang ctr).
    await io.drained()
    return {id, execId, pid, exitStatus, exitedAt: status.exitedAt}
  } finally {
    stopForwarding?.()
    waitAbort.abort()
    // A detached exec that started is left running; anything else we created is ours to remove.
    if (created && (io || !started)) await removeExec(client, id, execId, started && exitStatus === undefined, hooks.signal)
    await io?.close()
  }
}

/**
 * Deletes an exec process, killing it first if it may still run (ctr was interrupted or a stream failed).
 * Uses a fresh connection when the command's own was aborted by Ctrl-C, so clean-up still reaches containerd.
 */
async function removeExec(client: ContainerdClient, id: string, execId: string, mayRun: boolean, signal?: AbortSignal): Promise<void> {
  const cleanup = signal?.aborted ? new ContainerdClient({address: client.address, namespace: client.namespace, timeoutMs: client.timeoutMs || undefined}) : client
  const tasks = cleanup.service(TasksDefinition)
  try {
    if (mayRun) {
      await tasks.kill({containerId: id, execId, signal: SIGKILL}).catch(() => undefined)
      await tasks.wait({containerId: id, execId}, {timeoutMs: 5000}).catch(() => undefined)
    }
    await tasks.deleteProcess({containerId: id, execId}).catch(() => undefined)
  } finally {
    if (cleanup !== client) cleanup.close()
  }
}

/** The container's own process spec (Containers.Get → spec Any JSON → .process). */
async function containerProcess(client: ContainerdClient, id: string): Promise<OciProcess | undefined> {
  const {container} = await client.service(ContainersDefinition).get({id})
  const spec = container?.spec
  if (!spec?.value?.length) return undefined
  try {
    return (JSON.parse(Buffer.from(spec.value).toString('utf8')) as {process?: OciProcess}).process
  } catch {
    throw new CtrError('internal', `container "${id}" has a runtime spec that is not valid JSON`)
  }
}

async function requireRunning(client: ContainerdClient, id: string): Promise<void> {
  const task = await client
    .service(TasksDefinition)
    .get({containerId: id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('failed-precondition', `container "${id}" is not running`, {cause: error})
      throw error
    })
  const status = task.process?.status
  if (status === Status.RUNNING) return
  const state = status === Status.PAUSED || status === Status.PAUSING ? 'paused' : status === Status.CREATED ? 'created, not started' : 'not running'
  throw new CtrError('failed-precondition', `container "${id}" is ${state}`)
}

function execError(error: unknown, id: string, execId: string): unknown {
  if (error instanceof CtrError && error.kind === 'already-exists') {
    return new CtrError('already-exists', `container "${id}" already has an exec process "${execId}"`, {cause: error})
  }
  return withContainer(error, id)
}

/** runc's "executable file not found" and "permission denied" become the shell's 127 and 126, in one line. */
export function startError(error: unknown, id: string, command: string): unknown {
  if (!(error instanceof CtrError)) return error
  if (/executable file not found|no such file or directory/.test(error.message)) {
    return new CtrError('not-found', `cannot exec "${command}" in container "${id}": executable file not found`, {
      cause: error,
      exitCode: EXIT.commandNotFound,
    })
  }
  if (/permission denied/.test(error.message)) {
    return new CtrError('permission-denied', `cannot exec "${command}" in container "${id}": permission denied`, {
      cause: error,
      exitCode: EXIT.cannotInvoke,
    })
  }
  return withContainer(error, id)
}
