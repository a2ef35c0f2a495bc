/**
 * Starting a container from an OCI bundle, as Go ctr's `run --rootfs` does it (docs/containerd.md "Starting
 * from a bundle"): check the bundle → Containers.Create → (attached: FIFOs, read ends open) → Tasks.Create
 * (with a deadline) → Tasks.Wait (attached: before Start, so a fast exit is not missed) → Tasks.Start.
 * Any failure rolls back everything this call created (task, container, FIFOs): a failed start leaves
 * nothing behind. A library function: no oclif, no shared state, safe to run concurrently on one client.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Descriptor} from '../../gen/containerd/types/descriptor'
import type {Any} from '../../gen/google/protobuf/any'
import {type AttachedIo, exitOrEnd, forwardSignalsAcrossStart} from './attach'
import {loadBundle, containerSpec, type OciSpec} from '../containers/bundle'
import {
  defaultSpec,
  imageCommand,
  imageConfig,
  imageParent,
  imageStopSignal,
  prepareSnapshot,
  removeSnapshot,
  resolveImageUser,
} from '../containers/image-source'
import {DEFAULT_SNAPSHOTTER} from '../images/unpack'
import type {Mount} from '../../gen/containerd/types/mount'
import {deleteContainer, EXIT_STATUS_LABEL, setLabels} from '../containers/containers'
import {createLease, deleteDeadLeases, type Lease} from '../images/lease'
import {ownerState, ownerToken} from '../owner'
import {CLEANUP_TIMEOUT_MS, daemonAnswers, PROBE_TIMEOUT_MS, retryWhileUnavailable, withCleanupClient} from '../containerd/cleanup-client'
import {trackInFlight} from '../in-flight'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError, formatMs, namesContainer, noAnswer, usageError} from '../containerd/errors'
import {STOP_SIGNAL_LABEL} from './processes'
import {processStartError} from './runtime-errors'
import {checkEnv, mergeEnv} from './exec-spec'
import {BUNDLE_LABEL, checkContainerId} from '../containers/containers'
import {LOG_LABEL, type LogOptions, prepareLog} from '../logs/files'
import {createTask, deleteTask, type ExitStatus, getTask, removeTask, startTask, waitTask} from './tasks'

export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec'
/**
 * On a container until its process runs: the ctr starting it (src/lib/owner.ts). Left on a container whose
 * ctr is dead, it marks a half-start that prune (or a start with the same ID) removes.
 */
export const STARTING_LABEL = 'io.ctr.starting'
/** The start's lease lives from Snapshots.Prepare to Containers.Create; a killed ctr's expires by itself. */
const START_LEASE_EXPIRY_MS = 10 * 60 * 1000
export const RUNC_RUNTIME = 'io.containerd.runc.v2'

export interface StartOptions {
  id: string
  /** Bundle directory (relative to the working directory, symlinks allowed). Not with image. */
  bundle?: string
  /** An image in the namespace (unpacked for the snapshotter) to start from instead of a bundle. */
  image?: string
  /** With image: the snapshotter (DEFAULT_SNAPSHOTTER). */
  snapshotter?: string
  /** The command and its arguments, replacing the spec's process.args. */
  args?: readonly string[]
  /** KEY=VALUE entries added to (or replacing those of) the bundle's or the image's environment. */
  env?: readonly string[]
  /** Give the process a terminal (needs attach). Attached, the spec's process.terminal also asks for one. */
  tty?: boolean
  /**
   * Attach the process's stdio: creates it given the FIFO name and whether there is a terminal, e.g.
   * `(name, terminal) => attachStdio(client, {name, terminal})`. Without it the container runs detached
   * with no stdio at all (its output is discarded, so it never blocks on a pipe nobody reads).
   */
  attach?: (name: string, terminal: boolean) => Promise<AttachedIo>
  /** Initial terminal size (spec process.consoleSize), so the process never sees 0x0 before ResizePty. */
  consoleSize?: {width: number; height: number}
  /**
   * Detached only: keep stdout and stderr in a log file (logs/files.ts; its path goes in LOG_LABEL). Without it a
   * detached container has no stdio at all.
   */
  log?: LogOptions
  /** More container labels (BUNDLE_LABEL is always set). */
  labels?: Record<string, string>
  /**
   * Restore the task from a checkpoint: checkpoint and options go to Tasks.Create as they are; annotations
   * are added to the spec (runc reads CRIU's restore options from org.criu.config). See checkpoints/restore.ts.
   */
  restore?: {checkpoint?: Descriptor; options?: Any; annotations?: Record<string, string>; explain?: (error: unknown) => Promise<unknown>}
  /** Aborts the start (Ctrl-C): everything created so far is rolled back. */
  signal?: AbortSignal
  /** Called just before Tasks.Start, once the terminal decision is made (runAttached proxies signals from here). */
  beforeStart?: (container: {id: string; terminal: boolean}) => void
}

export interface StartedContainer {
  id: string
  /** Absolute real path of the bundle ('' when started from an image). */
  bundle: string
  /** Started from an image: its name. */
  image?: string
  /** Started from an image: the container's snapshot. */
  snapshot?: {snapshotter: string; key: string}
  namespace: string
  pid: number
  terminal: boolean
  /** Detached with a log: the log file. */
  logPath?: string
  /** Attached only: the stdio, already wired (stdin, raw mode, window size). Close it when done. */
  io?: AttachedIo
  /** Attached only: the exit of the process (Tasks.Wait, begun before Start). */
  exited?: Promise<ExitStatus>
}

/**
 * Creates and starts the container; resolves once its process runs. Rolls back on any failure. An ID taken by
 * what a SIGKILLed ctr left half-started (reclaimDeadStart) is cleaned up and the start goes ahead.
 */
export async function startContainer(client: ContainerdClient, options: StartOptions): Promise<StartedContainer> {
  const {id} = options
  checkContainerId(id)
  if (options.tty && !options.attach) {
    throw usageError('--tty needs --attach (a detached container has no terminal to talk to, and its log file cannot hold one)')
  }
  if (options.log && options.attach) throw usageError('--log-path is for detached starts (attached, the output comes to ctr)')
  checkEnv(options.env ?? [])
  try {
    return await startOnce(client, options)
  } catch (error) {
    if (!(error instanceof CtrError && error.kind === 'already-exists')) throw error
    if (!(await reclaimDeadStart(client, id, options.signal).catch(() => false))) throw error
    return startOnce(client, options)
  }
}

async function startOnce(client: ContainerdClient, options: StartOptions): Promise<StartedContainer> {
  const {id} = options
  const call = {signal: options.signal}
  const source = options.image ? await imageSource(client, {...options, image: options.image}, call) : await bundleSource(client, options)
  const {spec, terminal} = source
  if (options.env?.length) spec.process.env = mergeEnv(spec.process.env ?? [], options.env)
  if (terminal && options.consoleSize) spec.process.consoleSize = options.consoleSize
  if (options.restore?.annotations) spec.annotations = {...(spec.annotations as Record<string, string> | undefined), ...options.restore.annotations}
  const removeOurSnapshot = async () => {
    if (source.snapshot) await withCleanupClient(client, options.signal, (c) => removeSnapshot(c, source.snapshot!.snapshotter, id)).catch(() => undefined)
  }
  const log = await (options.log ? prepareLog(client.namespace, id, options.log) : undefined)?.catch(async (error) => {
    await removeOurSnapshot()
    await source.lease?.release().catch(() => undefined)
    throw error
  })

  const owner = ownerToken()
  await client
    .service(ContainersDefinition)
    .create(
      {
        container: {
          id,
          labels: {...options.labels, ...source.labels, ...(log ? {[LOG_LABEL]: log.path} : {}), ...(owner ? {[STARTING_LABEL]: owner} : {})},
          runtime: {name: RUNC_RUNTIME},
          spec: {typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec))},
          ...(source.snapshot ? {image: source.snapshot.image, snapshotter: source.snapshot.snapshotter, snapshotKey: id} : {}),
        },
      },
      call,
    )
    .catch(async (error) => {
      // Cut off by Ctrl-C or a deadline, the create may have happened after all; a duplicate ID is not ours.
      const left =
        error instanceof CtrError && (error.kind === 'cancelled' || error.kind === 'deadline-exceeded')
          ? await rollback(client, id, {recordMayExist: true, taskMayExist: false, snapshot: Boolean(source.snapshot), failure: error, signal: options.signal})
          : undefined
      // A duplicate ID: the snapshot under that key (Prepare refused it) is not ours either.
      if (!left) await removeOurSnapshot()
      await log?.discard()
      throw failedStart(client, error, left, id, spec.process.args[0])
    })
    .finally(() => source.lease?.release().catch(() => undefined)) // the container record holds the snapshot now
  // From here on, everything is ours to roll back.
  const forget = trackInFlight(`container "${id}"`)
  let io: AttachedIo | undefined
  let taskMayExist = false
  const waitAbort = new AbortController()
  try {
    io = await options.attach?.(id, terminal)
    taskMayExist = true // a Create that timed out may still have made the task
    await createTask(
      client,
      {
        id,
        stdio: io?.paths ?? log?.stdio,
        terminal,
        checkpoint: options.restore?.checkpoint,
        options: options.restore?.options,
        rootfs: source.snapshot?.mounts,
      },
      call,
    ).catch((error) => {
      // The container record is new (ours), so an existing task is a stale one: a shim left by an earlier
      // start that was cut off (containerd 1.6 keeps it under the ID). Not "container already exists".
      if (error instanceof CtrError && error.kind === 'already-exists') {
        taskMayExist = false // not ours: leave it alone
        throw new CtrError(
          'already-exists',
          `task "${id}" already exists in containerd (left by an earlier start that was cut off; containerd removes it when restarted): ${error.message}`,
          {cause: error},
        )
      }
      throw error
    })
    let exited: Promise<ExitStatus> | undefined
    if (io) {
      exited = waitTask(client, id, {signal: options.signal ? AbortSignal.any([options.signal, waitAbort.signal]) : waitAbort.signal})
      exited.catch(() => undefined) // observed by the caller; a failed start must not leave it unhandled
    }
    options.beforeStart?.({id, terminal})
    const {pid} = await startTask(client, id, call)
    // Started: no longer a half-start another ctr may clean up once this one is gone.
    if (owner) await setLabels(client, id, {[STARTING_LABEL]: ''}).catch(() => undefined)
    await io?.started({containerId: id, execId: ''})
    forget() // started: the container is the user's now (runAttached tracks an attached one itself)
    return {
      id,
      bundle: source.bundle ?? '',
      ...(source.snapshot ? {image: source.snapshot.image, snapshot: {snapshotter: source.snapshot.snapshotter, key: id}} : {}),
      namespace: client.namespace,
      pid,
      terminal,
      ...(log ? {logPath: log.path} : {}),
      io,
      exited,
    }
  } catch (error) {
    waitAbort.abort()
    const left = await rollback(client, id, {taskMayExist, snapshot: Boolean(source.snapshot), failure: error, signal: options.signal})
    if (!left) await removeOurSnapshot()
    await io?.close()
    forget()
    await log?.discard()
    throw failedStart(client, options.restore?.explain ? await options.restore.explain(error) : error, left, id, spec.process.args[0])
  }
}

export interface RunOptions extends StartOptions {
  attach: NonNullable<StartOptions['attach']>
  /** Delete the container after its process exits. */
  rm?: boolean
  /** Pass the signals ctr receives to the process (attach.PROXIED_SIGNALS) while it runs; not with a terminal. */
  proxySignals?: boolean
  /**
   * Called just before Tasks.Start, with whether ctr's signals now go to the process. The process may
   * print (and the user react) before Start answers: a command should hold its own interrupts from here
   * until onStarted, rather than cut the Start off half-way.
   */
  onStarting?: (proxying: boolean) => void
  /** Called once Tasks.Start has answered and the process runs. */
  onStarted?: () => void
}

export interface RunResult {
  id: string
  bundle: string
  pid: number
  /** The process's exit status (128+N when killed by signal N). */
  exitStatus: number
  exitedAt?: Date
  /** Whether the container was deleted (--rm). */
  removed: boolean
}

/**
 * `start --attach`: starts the container with its stdio wired to ours, waits for the exit and for its
 * output, deletes the task (and with rm the container). Aborted while the process runs (ctr interrupted
 * without proxying, e.g. in a terminal), it detaches: the container keeps running, ctr lets go of it.
 */
export async function runAttached(client: ContainerdClient, options: RunOptions): Promise<RunResult> {
  const kill = (signal: number) => client.service(TasksDefinition).kill({containerId: options.id, execId: '', signal, all: false})
  let forwarding: ReturnType<typeof forwardSignalsAcrossStart> | undefined
  const beforeStart = ({terminal}: {terminal: boolean}) => {
    // In a terminal Ctrl-C is a byte for the process (raw mode), not a signal for ctr: nothing to forward.
    const proxying = Boolean(options.proxySignals) && !terminal
    if (proxying) forwarding = forwardSignalsAcrossStart(kill)
    options.onStarting?.(proxying)
  }
  let started: StartedContainer
  try {
    started = await startContainer(client, {...options, beforeStart})
  } catch (error) {
    forwarding?.stop()
    throw error
  }
  const {id, io, exited} = started
  const forget = trackInFlight(`container "${id}"`)
  try {
    await forwarding?.release()
    options.onStarted?.()
    const outcome = await exitOrEnd(exited!, io!, kill).catch(async (error) => {
      if (!(error instanceof CtrError && error.kind === 'unavailable')) throw error
      throw await cleanUpAfterLostConnection(client, error, `container "${id}"`, async (c) => {
        await removeTask(c, id)
        if (options.rm) await deleteStarted(c, id, started)
      })
    })
    if (outcome.end) {
      // stdout broke or the terminal hung up: the process was told (SIGPIPE/SIGHUP); clean up as after an exit.
      await removeTask(client, id)
      if (options.rm) await deleteStarted(client, id, started)
      throw outcome.end.error
    }
    const {exitStatus, exitedAt} = outcome.exit
    await io!.drained()
    await deleteTask(client, id)
    if (options.rm) await deleteStarted(client, id, started)
    // Without its task the container would list as created (never started): keep that it ran, and how it ended.
    else await markExited(client, id, exitStatus)
    const late = io!.endedBy()
    if (late) throw late.error // stdout broke after the process had written its last (`| head -1`)
    return {id, bundle: started.bundle, pid: started.pid, exitStatus, exitedAt, removed: Boolean(options.rm)}
  } finally {
    forwarding?.stop()
    await io!.close()
    forget()
  }
}

/** --rm: the container record, then the snapshot it was started on (an image's), if any. */
async function deleteStarted(client: ContainerdClient, id: string, started: StartedContainer): Promise<void> {
  await client.service(ContainersDefinition).delete({id})
  if (started.snapshot) await removeSnapshot(client, started.snapshot.snapshotter, started.snapshot.key)
}

async function markExited(client: ContainerdClient, id: string, exitStatus: number): Promise<void> {
  await setLabels(client, id, {[EXIT_STATUS_LABEL]: String(exitStatus)}).catch(() => undefined) // best effort: the listing then says created
}

/** What a roll-back could not remove, and why: containerd answered nothing, or could not be reached. */
interface Leftover {
  what: string
  why: 'silent' | 'unreachable'
}

/**
 * Removes what a failed start created, on a fresh connection if the caller's was aborted (Ctrl-C). After a
 * call went unanswered (its deadline passed, or ctr was interrupted or timed out while waiting), it first
 * checks that containerd answers at all (PROBE_TIMEOUT_MS): a paused or hung daemon gets no more full call
 * deadlines. When containerd is unreachable (killed, restarting) the roll-back is retried until it answers
 * again, for at most the call deadline (CLEANUP_TIMEOUT_MS with none). Resolves with what may be left if it
 * could not finish.
 */
async function rollback(
  client: ContainerdClient,
  id: string,
  options: {
    taskMayExist: boolean
    /** Containers.Create was cut off: the record exists only if containerd went on with it. */
    recordMayExist?: boolean
    snapshot: boolean
    failure: unknown
    signal?: AbortSignal
  },
): Promise<Leftover | undefined> {
  const {taskMayExist} = options
  const parts = [
    options.recordMayExist ? 'maybe its record' : 'its record',
    ...(taskMayExist ? ['maybe a task and its shim'] : []),
    ...(options.snapshot ? ['its snapshot'] : []),
  ]
  const what = `container "${id}" (${parts.join(', ')}; remove with: ctr containers delete --force ${id})`
  const budget = client.timeoutMs || CLEANUP_TIMEOUT_MS
  const unanswered = (options.failure instanceof CtrError && options.failure.kind === 'deadline-exceeded') || Boolean(options.signal?.aborted)
  if (unanswered && (await daemonAnswers(client, Math.min(budget, PROBE_TIMEOUT_MS))) === 'silent') return {what, why: 'silent'}
  const undo = async (cleanup: ContainerdClient) => {
    if (taskMayExist) await removeTask(cleanup, id)
    await cleanup
      .service(ContainersDefinition)
      .delete({id})
      .catch((error) => {
        if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
      })
  }
  const done = await withCleanupClient(client, options.signal, (cleanup) =>
    undo(cleanup).then(
      () => true,
      (error) => (error instanceof CtrError && (error.kind === 'unavailable' || error.kind === 'deadline-exceeded') ? false : true),
    ),
  )
  if (done) return undefined
  if (await retryWhileUnavailable(client, budget, undo)) return undefined
  return {what, why: 'unreachable'}
}

/**
 * The error of a failed start (startError), saying what its roll-back could not remove. When containerd answered
 * nothing at all, a deadline is worded as such (not as a slow call of a daemon that answers).
 */
function failedStart(client: ContainerdClient, error: unknown, left: Leftover | undefined, id: string, command: string): unknown {
  const cause =
    left?.why === 'silent' && error instanceof CtrError && error.kind === 'deadline-exceeded'
      ? noAnswer(client.address, client.timeoutMs || undefined, {cause: error})
      : error
  const failure = startError(cause, id, command)
  if (!left || !(failure instanceof CtrError)) return failure
  const tail =
    left.why === 'silent'
      ? `containerd did not answer the clean-up within ${formatMs(Math.min(client.timeoutMs || CLEANUP_TIMEOUT_MS, PROBE_TIMEOUT_MS))}; may be left: ${left.what}`
      : `containerd could not be reached to clean up, left: ${left.what}`
  return new CtrError(failure.kind, `${failure.message}; ${tail}`, {cause: failure, exitCode: failure.exitCode, left: tail})
}

/**
 * The daemon went away while an attached process ran: retry the clean-up (`cleanup`) until it answers again,
 * for at most the call deadline; the error then says what was done or what may still be running.
 */
export async function cleanUpAfterLostConnection(
  client: ContainerdClient,
  error: CtrError,
  running: string,
  cleanup: (client: ContainerdClient) => Promise<unknown>,
): Promise<CtrError> {
  const done = await retryWhileUnavailable(client, client.timeoutMs || CLEANUP_TIMEOUT_MS, cleanup)
  const tail = done ? `containerd answered again and ${running} was stopped and cleaned up` : `${running} may still be running`
  return new CtrError(error.kind, `${error.message}; ${tail}`, {cause: error, exitCode: error.exitCode})
}

/**
 * A failed start in one line: runc's failures to start the process as runtime-errors.ts words them (127,
 * 126, the working directory), a duplicate ID plainly; anything else names the container.
 */
export function startError(error: unknown, id: string, command: string): unknown {
  if (!(error instanceof CtrError)) return error
  const runtime = processStartError(error, {id, command})
  if (runtime) return runtime
  if (error.kind === 'already-exists') return new CtrError('already-exists', `container "${id}" already exists`, {cause: error})
  if (error.kind === 'cancelled' || namesContainer(error, id)) return error
  return new CtrError(error.kind, `cannot start container "${id}": ${error.message}`, {cause: error, exitCode: error.exitCode})
}

interface PreparedSource {
  spec: OciSpec
  terminal: boolean
  /** Absolute real path of the bundle. */
  bundle?: string
  /** From an image: the snapshot prepared under the container's ID (ours to remove on failure). */
  snapshot?: {image: string; snapshotter: string; mounts: Mount[]}
  /** From an image: the lease the snapshot was prepared under, until the container record holds it. */
  lease?: Lease
  /** Labels the source gives the container: the bundle's path, or the image's stop signal. */
  labels: Record<string, string>
}

async function bundleSource(client: ContainerdClient, options: StartOptions): Promise<PreparedSource> {
  const bundle = await loadBundle(options.bundle ?? '')
  // A detached process has no console to read its terminal: a `runc spec` bundle (terminal: true by
  // default) then runs without one rather than failing or blocking on a console nobody drains.
  const terminal = Boolean(options.attach) && Boolean(options.tty || bundle.spec.process.terminal)
  const spec = containerSpec(bundle, {namespace: client.namespace, id: options.id, terminal})
  if (options.args?.length) spec.process.args = [...options.args]
  return {spec, terminal, bundle: bundle.path, labels: {[BUNDLE_LABEL]: bundle.path}}
}

/**
 * From an image: its config for this platform, its unpacked layers (Snapshots.Stat of the chain ID), a new
 * writable snapshot under the container's ID (Prepare), and the default spec with the image's process. Any
 * failure after Prepare removes the snapshot.
 */
async function imageSource(client: ContainerdClient, options: StartOptions & {image: string}, call: CallOptions): Promise<PreparedSource> {
  const {id, image} = options
  const snapshotter = options.snapshotter || DEFAULT_SNAPSHOTTER
  const config = await imageConfig(client, image, call)
  const args = options.args?.length ? [...options.args] : imageCommand(config)
  if (args.length === 0) throw usageError(`image "${image}" has no command (no Entrypoint or Cmd): give one after the image`)
  const parent = await imageParent(client, image, config, snapshotter, call)
  // Prepared under a lease, as Go's client does (WithLease around NewContainer): without one the garbage
  // collector may take the new snapshot before the container record refers to it (1 start in 3 of 100 at
  // once failed "failed to mount rootfs component"). The lease expires by itself if ctr is killed.
  const lease = await createLease(client, {prefix: 'ctr-start', expiresInMs: START_LEASE_EXPIRY_MS, signal: options.signal})
  const mounts = await prepareSnapshot(client, snapshotter, id, parent, {...call, metadata: lease.metadata}).catch(async (error) => {
    await lease.release().catch(() => undefined)
    if (error instanceof CtrError && error.kind === 'already-exists') {
      throw new CtrError('already-exists', `container "${id}" already exists (snapshot "${id}" exists in ${snapshotter})`, {cause: error})
    }
    throw error
  })
  try {
    const c = config.config ?? {}
    const env = Array.isArray(c.Env) ? c.Env.filter((e): e is string => typeof e === 'string') : []
    const cwd = typeof c.WorkingDir === 'string' && c.WorkingDir ? c.WorkingDir : '/'
    const user = typeof c.User === 'string' && c.User ? await resolveImageUser(c.User, mounts, image) : {uid: 0, gid: 0}
    const terminal = Boolean(options.attach) && Boolean(options.tty)
    const spec = defaultSpec({namespace: client.namespace, id, args, env, cwd, uid: user.uid, gid: user.gid, terminal})
    // root.path is relative, `rootfs` as Go ctr writes it: the shim mounts the snapshot (Tasks.Create's rootfs)
    // at <bundle>/rootfs. runc refuses a spec with no root at all ("root must be specified").
    // Go ctr's run sets the label for every image container (WithImageStopSignal): kill and stop read it.
    return {spec, terminal, snapshot: {image, snapshotter, mounts}, lease, labels: {[STOP_SIGNAL_LABEL]: imageStopSignal(config)}}
  } catch (error) {
    await withCleanupClient(client, options.signal, (c) => removeSnapshot(c, snapshotter, id)).catch(() => undefined)
    await lease.release().catch(() => undefined)
    throw error
  }
}

/**
 * What a SIGKILLed ctr left of a start under this ID, removed so the ID can be used: a container that ctr
 * marked as starting (STARTING_LABEL) and that never got further than a created task, or, with no container,
 * a snapshot still held by its dead lease. Nothing of a live ctr, of another client, or that ever ran.
 * Resolves true if the ID is free now.
 */
export async function reclaimDeadStart(client: ContainerdClient, id: string, signal?: AbortSignal): Promise<boolean> {
  const {container} = await client
    .service(ContainersDefinition)
    .get({id}, {signal})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') return {container: undefined}
      throw error
    })
  if (container) {
    if (!isDeadHalfStart(container, await getTask(client, id))) return false
    await deleteContainer(client, id)
    await deleteDeadLeases(client, {signal})
    return true
  }
  // No container: the snapshot Prepare refused is ours only if a dead ctr's lease holds it.
  return (await deleteDeadLeases(client, {sync: true, signal})).length > 0
}

/** A container a ctr began to start and died before its process ran (its task, if any, never started). */
export function isDeadHalfStart(container: {labels: Record<string, string>}, task: {status: string} | undefined): boolean {
  return ownerState(container.labels[STARTING_LABEL]) === 'dead' && (!task || task.status === 'created')
}
