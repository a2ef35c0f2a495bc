/**
 * Starting a container from an OCI bundle, as Go ctr's `run --rootfs` does it (docs/containerd.md "Starting
 * from a bundle"): check the bundle → Containers.Create → (attached: FIFOs, read ends open) → Tasks.Create
 * (with a deadline) → Tasks.Wait (attached: before Start, so a fast exit is not missed) → Tasks.Start.
 * Any failure rolls back everything this call created (task, container, FIFOs): a failed start leaves
 * nothing behind. A library function: no oclif, no shared state, safe to run concurrently on one client.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import type {Descriptor} from '../../gen/containerd/types/descriptor'
import type {Any} from '../../gen/google/protobuf/any'
import type {Mount} from '../../gen/containerd/types/mount'
import {loadBundle, containerSpec, type OciSpec} from '../containers/bundle'
import {applyRunSettings, isVolumeMount, type RunSettings} from '../containers/run-options'
import {RESTART_LOGURI_LABEL, RESTART_STATUS_LABEL} from '../containers/restart-policy'
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
import {BUNDLE_LABEL, checkContainerId, deleteContainer, EXIT_STATUS_LABEL, setLabels} from '../containers/containers'
import {createLease, deleteDeadLeases} from '../images/lease'
import {ownerState, ownerToken} from '../owner'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError, namesContainer, usageError} from '../containerd/errors'
import {UndoStack, type UndoStep, withLeftover} from '../containerd/undo'
import {STOP_SIGNAL_LABEL} from './processes'
import {ContainerProcess, lostConnection, type ProcessIo, runAttached} from './process'
import {processStartError} from './runtime-errors'
import {checkEnv, mergeEnv} from './exec-spec'
import {LOG_LABEL, type LogOptions, prepareLog} from '../logs/files'
import {getTask} from './tasks'
import type {PortMapping} from '../network/cni'
import type {NetworkAttachment} from '../network/attach'
import {networkMode, setUpNetwork, teardownNetwork, teardownOrphanNetwork} from '../network/container-network'
import {refuseOverSsh, refuseUserOverSsh} from '../ssh/remote'
import {prepareVolumeMounts} from '../volumes/mounts'
import {LazyRoot, RootDir} from '../containers/in-root'
import {openImageRoot} from '../containers/snapshot-root'

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
  /**
   * Keep stdout and stderr in a log file (logs/files.ts; its path goes in LOG_LABEL). Without it a detached
   * container has no stdio at all (its output is discarded, so it never blocks on a pipe nobody reads).
   */
  log?: LogOptions
  /** Mounts, limits, user, working directory, ... changed in the spec sent (containers/run-options.ts). */
  settings?: RunSettings
  /** More container labels (BUNDLE_LABEL is always set). */
  labels?: Record<string, string>
  /**
   * Restore the task from a checkpoint: checkpoint and options go to Tasks.Create as they are; annotations
   * are added to the spec (runc reads CRIU's restore options from org.criu.config). See checkpoints/restore.ts.
   */
  restore?: {checkpoint?: Descriptor; options?: Any; annotations?: Record<string, string>; explain?: (error: unknown) => Promise<unknown>}
  /**
   * The container's networks (network/container-network.ts): `host`, `none`, or CNI network names (`bridge`:
   * ctr's default). Without: a bundle's config.json decides, an image gets `none`; portMappings imply `bridge`.
   */
  networks?: readonly string[]
  /** Host ports to publish (on the first network that can). */
  portMappings?: readonly PortMapping[]
  /** Aborts the start (Ctrl-C): everything created so far is rolled back. */
  signal?: AbortSignal
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
  /** With a log: the log file. */
  logPath?: string
  /** On CNI networks: its addresses and published ports. */
  network?: NetworkAttachment
}

/**
 * Creates and starts the container detached; resolves once its process runs. Rolls back on any failure. An
 * ID taken by what a SIGKILLed ctr left half-started (reclaimDeadStart) is cleaned up and the start goes ahead.
 */
export async function startContainer(client: ContainerdClient, options: StartOptions): Promise<StartedContainer> {
  return withIdReclaimed(client, options, async () => {
    const undo = new UndoStack()
    const stage: Stage = {}
    try {
      const made = await createContainer(client, options, undo, stage)
      const pid = await made.process.start({signal: options.signal})
      await clearStartingMark(client, made)
      undo.dismiss() // started: the container is the user's now
      return {...made.started, pid}
    } catch (error) {
      throw await rolledBack(client, undo, error, options, stage)
    }
  })
}

export interface RunOptions extends Omit<StartOptions, 'log'> {
  /**
   * Creates the process's stdio given the FIFO name and whether there is a terminal, e.g.
   * `(name, terminal) => attachStdio(client, {name, terminal})`.
   */
  attach: (name: string, terminal: boolean) => Promise<ProcessIo>
  /** Give the process a terminal (the spec's process.terminal also asks for one). */
  tty?: boolean
  /** Initial terminal size (spec process.consoleSize), so the process never sees 0x0 before ResizePty. */
  consoleSize?: {width: number; height: number}
  /** Delete the container after its process exits. */
  rm?: boolean
  /**
   * Pass the signals ctr receives to the process (attach.PROXIED_SIGNALS) while it runs; not with a terminal.
   * Otherwise ctr's own interrupt is held while Tasks.Start is under way, then acted on (process.ts).
   */
  proxySignals?: boolean
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
 * `start --attach`: starts the container with its stdio wired to ours (process.ts runAttached), waits for
 * the exit and for its output, deletes the task (and with rm the container). Aborted while the process runs
 * (ctr interrupted without proxying, e.g. in a terminal), it detaches: the container keeps running, ctr lets
 * go of it. A session end (stdout broke, hang-up) or a lost connection removes the task (and with rm the
 * container) through the undo stack.
 */
export async function runContainer(client: ContainerdClient, options: RunOptions): Promise<RunResult> {
  return withIdReclaimed(client, options, async () => {
    const undo = new UndoStack()
    const stage: Stage = {}
    let made: Made | undefined
    try {
      made = await createContainer(client, options, undo, stage)
      const {process, io, started} = made
      const {id} = options
      const {exitStatus, exitedAt} = await runAttached(process, io!, {
        // In a terminal Ctrl-C is a byte for the process (raw mode), not a signal for ctr: nothing to forward.
        forwardSignals: Boolean(options.proxySignals) && !started.terminal,
        signal: options.signal,
        afterStart: async () => {
          await clearStartingMark(client, made!)
          // Started: the record (and snapshot) are the user's, unless --rm makes them ours to delete.
          if (!options.rm) made!.keepContainer()
        },
      })
      await process.delete()
      if (options.rm) {
        made.keepContainer()
        await client.service(ContainersDefinition).delete({id})
        await teardownNetwork(client.namespace, id)
        if (started.snapshot) await removeSnapshot(client, started.snapshot.snapshotter, started.snapshot.key)
      }
      // Without its task the container would list as created (never started): keep that it ran, and how it ended.
      else await markExited(client, id, exitStatus)
      await undo.unwind(client) // the FIFOs
      return {id, bundle: started.bundle, pid: process.pid, exitStatus, exitedAt, removed: Boolean(options.rm)}
    } catch (error) {
      const process = made?.process
      if (!process?.started) throw await rolledBack(client, undo, error, options, stage)
      // Interrupted while it runs (not forwarding) or --timeout: ctr detaches, the container runs on.
      if (options.signal?.aborted) {
        process.keep()
        made!.keepContainer()
      }
      const left = await undo.unwind(client, {failure: error, signal: options.signal})
      if (error instanceof CtrError && error.kind === 'unavailable') throw lostConnection(error, process.label, left)
      throw error
    }
  })
}

/** How far a start got: from `command` on (Containers.Create), a failure is worded as a failed start. */
interface Stage {
  command?: string
  /** Containers.Create answered: a restore's failure is explained from here. */
  created?: boolean
}

interface Made {
  process: ContainerProcess
  io?: ProcessIo
  started: Omit<StartedContainer, 'pid'>
  /** The start mark's value (owner.ts), if one was set. */
  owner?: string
  /** The container record and its snapshot are the user's now: no longer removed when the undo stack unwinds. */
  keepContainer(): void
}

/** Checks, then runs `once`; a duplicate ID left by a SIGKILLed ctr's half-start is reclaimed and `once` run again. */
async function withIdReclaimed<T>(client: ContainerdClient, options: StartOptions, once: () => Promise<T>): Promise<T> {
  checkContainerId(options.id)
  checkEnv(options.env ?? [])
  try {
    return await once()
  } catch (error) {
    if (!(error instanceof CtrError && error.kind === 'already-exists')) throw error
    if (!(await reclaimDeadStart(client, options.id, options.signal).catch(() => false))) throw error
    return once()
  }
}

/**
 * The source (bundle, or image: lease and snapshot) → log file → Containers.Create → (attached: FIFOs, read
 * ends open) → Tasks.Create (with a deadline), each recorded on `undo` as it is created.
 */
/** What a start is made from: a detached start's options, or an attached one's. */
type SourceOptions = StartOptions & Partial<Pick<RunOptions, 'attach' | 'tty' | 'consoleSize'>>

async function createContainer(client: ContainerdClient, options: SourceOptions, undo: UndoStack, stage: Stage): Promise<Made> {
  const {id} = options
  // Over ssh, what needs this host's files is refused before anything is made (../ssh/remote.ts).
  refuseUserOverSsh(client, options.settings?.user?.user, options.settings?.user?.group)
  if (client.remote && networkMode(options.networks, options.portMappings?.length ?? 0).mode === 'cni') {
    refuseOverSsh(client, 'a CNI network (--network, -p)', 'ctr runs the CNI plugins and keeps their records')
  }
  // Host paths and named volumes are this host's: checked, made and filled here, not where containerd runs.
  if (options.settings?.mounts?.some((m) => isVolumeMount(m) || m.type === 'bind'))
    refuseOverSsh(client, 'a host path or named volume (-v, --mount)', 'ctr checks host paths and keeps volumes on this host, not')
  if (options.log) refuseOverSsh(client, "a detached container's log file", "the shim runs ctr's logger, which writes it", (o) => `start it with ${o('noLog')}`)
  const call = {signal: options.signal}
  const source = options.image ? await imageSource(client, {...options, image: options.image}, undo, call) : await bundleSource(client, options)
  const {spec, terminal} = source
  if (options.env?.length) spec.process.env = mergeEnv(spec.process.env ?? [], options.env)
  if (terminal && options.consoleSize) spec.process.consoleSize = options.consoleSize
  let volumes: Awaited<ReturnType<typeof prepareVolumeMounts>> | undefined
  try {
    // Named volumes (made, and filled from the image on first use) become bind mounts; their names go on the container.
    const imageRoot = source.snapshot ? () => source.root.get() : undefined
    volumes = options.settings?.mounts?.length
      ? await prepareVolumeMounts(client.namespace, options.settings.mounts, {imageRoot, signal: options.signal})
      : undefined
    const settings = options.settings && volumes ? {...options.settings, mounts: volumes.mounts} : options.settings
    if (settings) await applyRunSettings(spec, settings, () => source.root.get(), options.image ? `image "${options.image}"` : 'the bundle')
  } finally {
    await source.root.close()
  }
  if (options.restore?.annotations) spec.annotations = {...(spec.annotations as Record<string, string> | undefined), ...options.restore.annotations}
  const network = await setUpNetwork(
    spec,
    {namespace: client.namespace, id, networks: options.networks, portMappings: options.portMappings, image: Boolean(options.image), signal: options.signal},
    undo,
  )
  const log = options.log ? await prepareLog(client.namespace, id, options.log) : undefined
  if (log) undo.defer(() => log.discard(), {local: true})

  const owner = ownerToken()
  stage.command = spec.process.args[0]
  const containers = client.service(ContainersDefinition)
  const deleteRecord = (c: ContainerdClient) => c.service(ContainersDefinition).delete({id}).catch(unlessNotFound)
  try {
    await containers.create(
      {
        container: {
          id,
          labels: {
            ...options.labels,
            ...source.labels,
            ...volumes?.labels,
            ...(log ? {[LOG_LABEL]: log.path} : {}),
            // containerd's restart monitor starts a task again with this stdio: the same log writer and file.
            ...(log && options.labels?.[RESTART_STATUS_LABEL] ? {[RESTART_LOGURI_LABEL]: log.stdio.stdout} : {}),
            ...(owner ? {[STARTING_LABEL]: owner} : {}),
          },
          runtime: {name: RUNC_RUNTIME},
          spec: {typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec))},
          ...(source.snapshot ? {image: source.snapshot.image, snapshotter: source.snapshot.snapshotter, snapshotKey: id} : {}),
        },
      },
      call,
    )
  } catch (error) {
    // Cut off by Ctrl-C or a deadline, the create may have happened after all; a duplicate ID is not ours.
    if (error instanceof CtrError && (error.kind === 'cancelled' || error.kind === 'deadline-exceeded')) {
      undo.defer(deleteRecord, {what: 'maybe its record', inFlight: `container "${id}"`})
    }
    throw error
  }
  stage.created = true
  // The container record holds the snapshot now: the start's lease can go.
  await source.lease?.release()
  const record = undo.defer(deleteRecord, {what: 'its record', inFlight: `container "${id}"`})
  const io = await options.attach?.(id, terminal)
  if (io) undo.defer(() => io.close(), {local: true})
  const process = await ContainerProcess.task(
    client,
    {
      id,
      stdio: io?.paths ?? log?.stdio,
      terminal,
      checkpoint: options.restore?.checkpoint,
      options: options.restore?.options,
      rootfs: source.snapshot?.mounts,
    },
    undo,
    call,
  ).catch((error) => {
    // The container record is new (ours), so an existing task is a stale one: a shim left by an earlier
    // start that was cut off (containerd 1.6 keeps it under the ID). Not "container already exists".
    if (error instanceof CtrError && error.kind === 'already-exists') {
      throw new CtrError(
        'already-exists',
        `task "${id}" already exists in containerd (left by an earlier start that was cut off; containerd removes it when restarted): ${error.message}`,
        {cause: error},
      )
    }
    throw error
  })
  return {
    process,
    io,
    owner,
    started: {
      id,
      bundle: source.bundle ?? '',
      ...(source.snapshot ? {image: source.snapshot.image, snapshot: {snapshotter: source.snapshot.snapshotter, key: id}} : {}),
      namespace: client.namespace,
      terminal,
      ...(log ? {logPath: log.path} : {}),
      ...(network.attachment ? {network: network.attachment} : {}),
    },
    keepContainer() {
      network.step?.dismiss()
      record.dismiss()
      source.snapshot?.step.dismiss()
    },
  }
}

/** Started: no longer a half-start another ctr may clean up once this one is gone. */
async function clearStartingMark(client: ContainerdClient, made: Made): Promise<void> {
  if (made.owner) await setLabels(client, made.started.id, {[STARTING_LABEL]: ''}).catch(() => undefined)
}

/**
 * Unwinds what a failed start created and words its error: before Containers.Create as it is, from there as
 * a failed start (startError) naming what the roll-back could not remove.
 */
async function rolledBack(client: ContainerdClient, undo: UndoStack, error: unknown, options: StartOptions, stage: Stage): Promise<unknown> {
  const left = await undo.unwind(client, {failure: error, signal: options.signal})
  if (stage.command === undefined) return error
  const {id} = options
  const failure = stage.created && options.restore?.explain ? await options.restore.explain(error) : error
  const leftover = left && {what: `container "${id}" (${left.what.join(', ')}; remove with: ctr containers delete --force ${id})`, why: left.why}
  return withLeftover(client, failure, leftover, (cause) => startError(cause, id, stage.command!))
}

function unlessNotFound(error: unknown): void {
  if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
}

async function markExited(client: ContainerdClient, id: string, exitStatus: number): Promise<void> {
  await setLabels(client, id, {[EXIT_STATUS_LABEL]: String(exitStatus)}).catch(() => undefined) // best effort: the listing then says created
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
  /** From an image: the snapshot prepared under the container's ID (its removal is on the undo stack). */
  snapshot?: {image: string; snapshotter: string; mounts: Mount[]; step: UndoStep}
  /** From an image: the lease the snapshot was prepared under, until the container record holds it. */
  lease?: {release(): Promise<void>}
  /** Where user and group names are looked up and volumes filled from: the bundle's rootfs, or the image's
   * read-only root; opened on first use, closed once the spec is made. */
  root: LazyRoot
  /** Labels the source gives the container: the bundle's path, or the image's stop signal. */
  labels: Record<string, string>
}

async function bundleSource(client: ContainerdClient, options: SourceOptions): Promise<PreparedSource> {
  refuseOverSsh(client, 'a start from a bundle', 'ctr reads config.json here while the runtime mounts the rootfs')
  const bundle = await loadBundle(options.bundle ?? '')
  // A detached process has no console to read its terminal: a `runc spec` bundle (terminal: true by
  // default) then runs without one rather than failing or blocking on a console nobody drains.
  const terminal = Boolean(options.attach) && Boolean(options.tty || bundle.spec.process.terminal)
  const spec = containerSpec(bundle, {namespace: client.namespace, id: options.id, terminal})
  if (options.args?.length) spec.process.args = [...options.args]
  const root = new LazyRoot(() => RootDir.open(bundle.rootfs, 'the bundle'))
  return {spec, terminal, bundle: bundle.path, root, labels: {[BUNDLE_LABEL]: bundle.path}}
}

/**
 * From an image: its config for this platform, its unpacked layers (Snapshots.Stat of the chain ID), a new
 * writable snapshot under the container's ID (Prepare, under a lease), and the default spec with the
 * image's process. Lease and snapshot are recorded on `undo`.
 */
async function imageSource(client: ContainerdClient, options: SourceOptions & {image: string}, undo: UndoStack, call: CallOptions): Promise<PreparedSource> {
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
  const leaseStep = undo.defer(() => lease.release())
  const mounts = await prepareSnapshot(client, snapshotter, id, parent, {...call, metadata: lease.metadata}).catch((error) => {
    if (error instanceof CtrError && error.kind === 'already-exists') {
      throw new CtrError('already-exists', `container "${id}" already exists (snapshot "${id}" exists in ${snapshotter})`, {cause: error})
    }
    throw error
  })
  const step = undo.defer((c) => removeSnapshot(c, snapshotter, id), {what: 'its snapshot'})
  const c = config.config ?? {}
  const env = Array.isArray(c.Env) ? c.Env.filter((e): e is string => typeof e === 'string') : []
  const cwd = typeof c.WorkingDir === 'string' && c.WorkingDir ? c.WorkingDir : '/'
  if (typeof c.User === 'string') refuseUserOverSsh(client, c.User)
  const root = new LazyRoot(() => openImageRoot(mounts, `image "${image}"`))
  const user =
    typeof c.User === 'string' && c.User
      ? await resolveImageUser(c.User, () => root.get(), image).catch(async (error: unknown) => {
          await root.close()
          throw error
        })
      : {uid: 0, gid: 0}
  const terminal = Boolean(options.attach) && Boolean(options.tty)
  const spec = defaultSpec({namespace: client.namespace, id, args, env, cwd, uid: user.uid, gid: user.gid, terminal})
  // root.path is relative, `rootfs` as Go ctr writes it: the shim mounts the snapshot (Tasks.Create's rootfs)
  // at <bundle>/rootfs. runc refuses a spec with no root at all ("root must be specified").
  // Go ctr's run sets the label for every image container (WithImageStopSignal): kill and stop read it.
  return {
    spec,
    terminal,
    snapshot: {image, snapshotter, mounts, step},
    root,
    lease: {
      release: async () => {
        leaseStep.dismiss()
        await lease.release().catch(() => undefined)
      },
    },
    labels: {[STOP_SIGNAL_LABEL]: imageStopSignal(config)},
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
  // No container: the snapshot Prepare refused (or the network record) is ours only if a dead ctr's lease (record) holds it.
  const network = await teardownOrphanNetwork(client.namespace, id)
  return (await deleteDeadLeases(client, {sync: true, signal})).length > 0 || network
}

/** A container a ctr began to start and died before its process ran (its task, if any, never started). */
export function isDeadHalfStart(container: {labels: Record<string, string>}, task: {status: string} | undefined): boolean {
  return ownerState(container.labels[STARTING_LABEL]) === 'dead' && (!task || task.status === 'created')
}
