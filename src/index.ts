/**
 * The library API: the same client layer the CLI uses, without oclif.
 *
 *   import {Containerd} from '@ctr-dev/ctr'
 *   const ctr = new Containerd({address: '/run/containerd/containerd.sock', namespace: 'default'})
 *   console.log(await ctr.version())
 *   await ctr.containers.start({id: 'redis', bundle: '/containers/redis'})
 *   for await (const event of ctr.events.subscribe({id: 'redis'})) console.log(event.type, event.status)
 *   const [image] = await ctr.images.import({source: 'busybox.tar'})
 *   ctr.close()
 *
 * `Containerd` is a thin facade: each method is one function of src/lib (also exported below), called with
 * this instance's client. Errors are CtrError (kind, message, exitCode), as in the CLI.
 */
import {type BenchOptions, type BenchResult, runBench} from './lib/bench/bench'
import {createCheckpoint, type CreateCheckpointOptions} from './lib/checkpoints/create'
import {type Checkpoint, deleteCheckpoint, listCheckpoints, type StoreOptions} from './lib/checkpoints/store'
import {ContainerdClient, type ConnectOptions} from './lib/containerd/client'
import {CtrError} from './lib/containerd/errors'
import {type ContainerFilter, type ContainerInfo, deleteContainer, type DeleteOptions, listContainers, parseFilters} from './lib/containers/containers'
import type {CtrEvent} from './lib/events/decode'
import {buildFilters, type FilterOptions} from './lib/events/filters'
import {watchEvents, type WatchOptions} from './lib/events/watch'
import {execProcess, type ExecOptions, type ExecResult} from './lib/tasks/exec'
import {type ImportedImage, importImages, type ImportOptions} from './lib/images/import'
import {type ImageInfo, listImages, type ListImagesOptions, removeImage, type RemoveImageOptions} from './lib/images/store'
import {type PulledImage, pullImage, type PullOptions} from './lib/registry/pull'
import {type PushedImage, pushImage, type PushOptions} from './lib/registry/push'
import {checkContainersExist, type MetricsSample, readMetrics} from './lib/metrics/metrics'
import {type KillOptions, type KillResult, killTask, listProcesses, pauseTask, type ProcessEntry, resumeTask} from './lib/tasks/processes'
import {parseSignal} from './lib/tasks/signals'
import {type StartedContainer, startContainer, type StartOptions} from './lib/tasks/start'
import {type ExitStatus, waitTask} from './lib/tasks/tasks'
import {type ContainerDetails, inspectContainer} from './lib/containers/info'
import {pruneContainers, type PruneResult} from './lib/containers/prune'
import {containerLog} from './lib/logs/read'
import {createNamespace, deleteNamespace, listNamespaces, type NamespaceInfo} from './lib/namespaces/namespaces'
import {getVersion, type VersionInfo} from './lib/version'

export interface ContainerdOptions extends ConnectOptions {
  /** Where checkpoints are stored; default $CTR_CHECKPOINT_DIR, else /var/lib/ctr/checkpoints (as the CLI). */
  checkpointRoot?: string
}

/** Filters as the CLI's --filter takes them (`status=running`, `label=app=web`) or already parsed. */
export type ListFilter = string | ContainerFilter

export interface SubscribeOptions extends Partial<Omit<WatchOptions, 'filters'>>, Partial<Omit<FilterOptions, 'namespace'>> {}

export class Containerd {
  /** The connection; use it with the lib functions or the generated service definitions for anything else. */
  readonly client: ContainerdClient
  private readonly checkpointStore: StoreOptions

  constructor(options: ContainerdOptions = {}) {
    this.client = new ContainerdClient(options)
    this.checkpointStore = {root: options.checkpointRoot}
  }

  get namespace(): string {
    return this.client.namespace
  }

  /** Client and daemon versions. */
  version(): Promise<VersionInfo> {
    return getVersion(this.client)
  }

  readonly containers = {
    /** The namespace's containers with their task state, sorted by ID. */
    list: (filters: readonly ListFilter[] = []): Promise<ContainerInfo[]> =>
      listContainers(this.client, {filters: filters.flatMap((f) => (typeof f === 'string' ? parseFilters([f]) : [f]))}),
    /** One container with its task state; CtrError 'not-found' if there is none. */
    get: async (id: string): Promise<ContainerInfo> => {
      const [found] = await listContainers(this.client, {filters: [{key: 'id', value: id}]})
      if (!found) throw new CtrError('not-found', `container "${id}" not found in namespace "${this.client.namespace}"`)
      return found
    },
    /**
     * Creates and starts a container from an OCI bundle, detached, as `ctr containers start ID BUNDLE`: no
     * stdio, unless `log: {}` (the CLI's default) or `log: {path}` keeps its output in a log file. Resolves once
     * its process runs; a failed start leaves nothing behind.
     */
    start: (options: StartOptions): Promise<StartedContainer> => startContainer(this.client, options),
    /** Deletes a container (and its exited task, and its log unless `keepLog`); `force` kills a live one first. */
    delete: (id: string, options: DeleteOptions = {}): Promise<{id: string}> => deleteContainer(this.client, id, options),
    /** Everything containerd holds about the container (spec decoded), its log path and its task's state. */
    info: (id: string): Promise<ContainerDetails> => inspectContainer(this.client, id),
    /** The log file of a detached start; CtrError 'not-found' when ctr keeps none for it. */
    logPath: async (id: string): Promise<string> => (await containerLog(this.client, id)).path,
    /** Deletes every stopped container (matching the filters) with its log. */
    prune: (filters: readonly ListFilter[] = []): Promise<PruneResult> =>
      pruneContainers(this.client, {filters: filters.flatMap((f) => (typeof f === 'string' ? parseFilters([f]) : [f]))}),
  }

  readonly namespaces = {
    list: (): Promise<NamespaceInfo[]> => listNamespaces(this.client),
    create: (name: string, labels: Record<string, string> = {}): Promise<NamespaceInfo> => createNamespace(this.client, name, labels),
    /** containerd refuses a namespace that still holds anything ('failed-precondition', naming what). */
    delete: (name: string): Promise<{name: string}> => deleteNamespace(this.client, name),
  }

  readonly images = {
    /**
     * Imports an OCI layout or docker save archive (path, '-' for stdin, or a stream; plain or gzip) and
     * unpacks it (unless `unpack: false`), as `ctr images import`. A failure leaves nothing behind.
     */
    import: (options: ImportOptions): Promise<ImportedImage[]> => importImages(this.client, options),
    /** The namespace's images with size and platforms; `filters` are containerd's (ORed). */
    list: (options: ListImagesOptions = {}): Promise<ImageInfo[]> => listImages(this.client, options),
    /** Removes an image record; refused ('failed-precondition') while containers use it, unless `force`. */
    remove: (name: string, options: RemoveImageOptions = {}): Promise<{name: string; digest: string}> => removeImage(this.client, name, options),
    /** Pulls an image from a registry and unpacks it, as `ctr images pull`; a failure leaves nothing behind. */
    pull: (options: PullOptions): Promise<PulledImage> => pullImage(this.client, options),
    /** Pushes an image of the store (`localRef`, default `ref`) to a registry as `ref`, as `ctr images push`. */
    push: (options: PushOptions): Promise<PushedImage> => pushImage(this.client, options),
  }

  readonly tasks = {
    /** Sends a signal (number or name: 9, 'KILL', 'SIGKILL'; default SIGTERM) to the init or one process. */
    kill: (id: string, options: Omit<KillOptions, 'signal'> & {signal?: number | string} = {}): Promise<KillResult> =>
      killTask(this.client, id, {...options, signal: typeof options.signal === 'string' ? parseSignal(options.signal) : options.signal}),
    pause: (id: string): Promise<{id: string}> => pauseTask(this.client, id),
    resume: (id: string): Promise<{id: string}> => resumeTask(this.client, id),
    /** Starts another process in the container, detached (no stdio); resolves with its exec ID and PID. */
    exec: (options: ExecOptions, hooks: {signal?: AbortSignal} = {}): Promise<ExecResult> => execProcess(this.client, options, {signal: hooks.signal}),
    /** The processes of the container's task: its init, exec processes and their children. */
    ps: (id: string): Promise<ProcessEntry[]> => listProcesses(this.client, id),
    /** Waits (without a deadline) for the init process, or an exec process, to exit. */
    wait: (id: string, options: {execId?: string; signal?: AbortSignal} = {}): Promise<ExitStatus> => waitTask(this.client, id, options),
  }

  readonly events = {
    /**
     * containerd's events of this namespace (all with allNamespaces), decoded, until `signal` aborts or the
     * loop is left. A broken stream is re-subscribed with back-off unless `reconnect: false`; events in the
     * gap are lost (containerd never replays) and reported through onStatus.
     */
    subscribe: (options: SubscribeOptions = {}): AsyncGenerator<CtrEvent> => {
      const {allNamespaces, filters, id, ...watch} = options
      return watchEvents(this.client, {...watch, filters: buildFilters({namespace: this.client.namespace, allNamespaces, filters, id})})
    },
  }

  /** One reading of the container's cgroup (CPU ns, memory, PIDs, block I/O); 'not-found' if it has no running task. */
  async metrics(id: string, signal?: AbortSignal): Promise<MetricsSample> {
    const sample = (await readMetrics(this.client, [id], signal)).get(id)
    if (sample) return sample
    await checkContainersExist(this.client, [id], signal)
    throw new CtrError('not-found', `container "${id}" has no running task to read metrics from`)
  }

  readonly checkpoints = {
    /** Checkpoints the running container (CRIU) into the checkpoint store; it keeps running unless `exit`. */
    create: (options: Omit<CreateCheckpointOptions, keyof StoreOptions>): Promise<Checkpoint> =>
      createCheckpoint(this.client, {...this.checkpointStore, ...options}),
    list: (id: string): Promise<Checkpoint[]> => listCheckpoints(this.client, id, this.checkpointStore),
    delete: (id: string, name: string): Promise<{container: string; name: string}> => deleteCheckpoint(this.client, id, name, this.checkpointStore),
  }

  /**
   * The seed's benchmark: starts `count` containers from the bundle, `concurrency` at a time, times each start
   * and removes them all again; resolves with the statistics (min, max, mean, percentiles in ms, rate).
   */
  bench(options: Pick<BenchOptions, 'bundle' | 'count' | 'concurrency' | 'prefix' | 'stop' | 'onProgress'>): Promise<BenchResult> {
    return runBench(this.client, options)
  }

  /** Releases the connection (a program exits only once it is closed). */
  close(): void {
    this.client.close()
  }
}

export {ContainerdClient, DEFAULT_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_MS, socketPath} from './lib/containerd/client'
export type {CallOptions, ConnectOptions, Requests, ServiceClient, ServiceDefinition} from './lib/containerd/client'
export {CtrError, EXIT, type ErrorKind} from './lib/containerd/errors'
export {getVersion, type VersionInfo} from './lib/version'
export {decodeEnvelope, type CtrEvent} from './lib/events/decode'
export {buildFilters} from './lib/events/filters'
export {watchEvents, type WatchStatus} from './lib/events/watch'
export {streamEvents} from './lib/events/exit-wait'
export {cpuPercent, decodeMetrics, readMetrics, watchStats, type ContainerStats, type MetricsSample} from './lib/metrics/metrics'
export {Backoff, backoffDelay, type BackoffOptions} from './lib/backoff'
export {deleteContainer, listContainers, parseFilters, type ContainerFilter, type ContainerInfo, type ContainerStatus} from './lib/containers/containers'
export {runContainer, startContainer, type RunOptions, type RunResult, type StartedContainer, type StartOptions} from './lib/tasks/start'
export {ContainerProcess, runAttached, type ProcessIo, type RunAttachedOptions} from './lib/tasks/process'
export {UndoStack, type Leftover} from './lib/containerd/undo'
export {attachStdio, type AttachedIo} from './lib/tasks/attach'
export {
  killTask,
  listProcesses,
  pauseTask,
  resumeTask,
  STOP_SIGNAL_LABEL,
  stopSignalOf,
  type KillOptions,
  type KillResult,
  type ProcessEntry,
} from './lib/tasks/processes'
export {execProcess, type ExecOptions, type ExecResult} from './lib/tasks/exec'
export {deleteExec, execExits, MAX_EXEC_EXITS, reapExecs, type DeleteExecResult, type ExecExit} from './lib/tasks/exec-exits'
export {parseSignal, signalName} from './lib/tasks/signals'
export {waitTask, type ExitStatus} from './lib/tasks/tasks'
export {createCheckpoint, type CreateCheckpointOptions} from './lib/checkpoints/create'
export {deleteCheckpoint, listCheckpoints, type Checkpoint} from './lib/checkpoints/store'
export {restoreFrom} from './lib/checkpoints/restore'
export {runBench, type BenchOptions, type BenchResult} from './lib/bench/bench'
export {summarize, type StatsSummary} from './lib/bench/stats-summary'
export {importImages, type ImportedImage, type ImportOptions, type ImportProgress} from './lib/images/import'
export {containersUsing, listImages, removeImage, type ImageInfo, type ListImagesOptions, type RemoveImageOptions} from './lib/images/store'
// Go ctr's SIZE text; the library's results are numbers, and this formatter is the CLI's (one for all output).
export {formatSize} from './cli/output/bytes'
export {ALL_PLATFORMS, defaultMatcher, formatPlatform, parsePlatform, strictMatcher, type Platform, type PlatformMatcher} from './lib/images/platform'
export {imageNameFor, normalizeDockerRef} from './lib/images/naming'
export {chainIds, DEFAULT_SNAPSHOTTER, unpackLayers, type UnpackResult} from './lib/images/unpack'
export type {Descriptor} from './lib/images/content'
export {pullImage, type BlobState, type PulledImage, type PullOptions, type PullProgress} from './lib/registry/pull'
export {pushImage, type PushedImage, type PushOptions} from './lib/registry/push'
export {parseReference, type RegistryReference} from './lib/registry/reference'
export {dockerConfigCredentials, parseChallenge, type Challenge, type Credentials} from './lib/registry/auth'
export {RegistryClient, registryFor, type RegistryOptions} from './lib/registry/client'
export {DEFAULT_HOSTS_DIR, registryHosts, type HostCapability, type HostsOptions, type HostTls, type RegistryHost} from './lib/registry/hosts'
export {knownLog, LOG_LABEL, logRoot, prepareLog, removeLog, type KnownLog, type LogOptions, type LogRecord} from './lib/logs/files'
export {containerLog, logGaps, readLog} from './lib/logs/read'
export {inspectContainer, type ContainerDetails} from './lib/containers/info'
export {createNamespace, deleteNamespace, listNamespaces, parseLabels, type NamespaceInfo} from './lib/namespaces/namespaces'
export {pruneContainers, type PruneOptions, type PruneResult} from './lib/containers/prune'
export {checkWaitable, waitContainer, type WaitResult} from './lib/tasks/wait'

/**
 * The generated service definitions, for `client.service(...)` calls the facade does not wrap (docs/library.md's
 * `ctr.client.service(TasksDefinition).get({containerId})`), with their message types.
 */
export {ContainersDefinition} from './gen/containerd/services/containers/v1/containers'
export {EventsDefinition} from './gen/containerd/services/events/v1/events'
export {NamespacesDefinition} from './gen/containerd/services/namespaces/v1/namespace'
export {TasksDefinition} from './gen/containerd/services/tasks/v1/tasks'
export {VersionDefinition} from './gen/containerd/services/version/v1/version'
export {ContentDefinition} from './gen/containerd/services/content/v1/content'
export {DiffDefinition} from './gen/containerd/services/diff/v1/diff'
export {ImagesDefinition} from './gen/containerd/services/images/v1/images'
export {LeasesDefinition} from './gen/containerd/services/leases/v1/leases'
export {SnapshotsDefinition} from './gen/containerd/services/snapshots/v1/snapshots'
