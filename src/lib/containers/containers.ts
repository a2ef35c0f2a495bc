/**
 * Container records and their task state: listing (Containers.List joined with Tasks.List: two calls
 * whatever the count), filters, and deletion.
 */
import {removeSnapshot} from './image-source'
import {ContainersDefinition, type Container} from '../../gen/containerd/services/containers/v1/containers'
import type {ContainerdClient} from '../containerd/client'
import {containerNotFound, CtrError, optionError, usageError} from '../containerd/errors'
import {isIdentifier, MAX_IDENTIFIER_LENGTH} from '../containerd/identifiers'
import {removeLog} from '../logs/files'
import {teardownNetwork, teardownOrphanNetwork} from '../network/container-network'
import type {ProcessStatus} from '../tasks/status'
import {type ContainerFilter, type FilterAlternative, matchesStatus, parseContainerFilters} from './filters'
import {getTask, listTasks, removeTask, type TaskInfo} from '../tasks/tasks'

/** The label `ctr containers start` keeps the bundle path in, so the list can show it. */
export const BUNDLE_LABEL = 'io.ctr.bundle'

/** containerd's identifier rule, checked before anything is created. */
export function checkContainerId(id: string): void {
  if (!isIdentifier(id)) {
    throw usageError(`invalid container ID "${id}": use letters, digits and single . _ - between them, at most ${MAX_IDENTIFIER_LENGTH} characters`)
  }
}

/** A container's status: its task's; without a task, `created` unless ctr saw it exit (see containerInfo). */
export type ContainerStatus = ProcessStatus
export {CONTAINER_STATUSES, type ContainerFilter} from './filters'

/** Set by an attached `containers start` without --rm when the task is deleted: the container did run. */
export const EXIT_STATUS_LABEL = 'io.ctr.exit-status'

export interface ContainerInfo {
  id: string
  /** Bundle path (from BUNDLE_LABEL), '' for containers made otherwise (e.g. from an image). */
  bundle: string
  /** Image name, for containers made from one (by Go ctr, nerdctl...); '' otherwise. */
  image: string
  status: ContainerStatus
  /** Host PID of the init process; 0 when there is no live task. */
  pid: number
  /** Exit status of a task that has exited but is not deleted yet. */
  exitStatus?: number
  created?: Date
  labels: Record<string, string>
  runtime: string
}

/** docker-style `--filter` texts only (status=, id=, label=); see ./filters.ts for containerd's syntax too. */
export function parseFilters(texts: readonly string[]): ContainerFilter[] {
  const parsed = parseContainerFilters(texts)
  if (parsed.alternatives.length > 0) throw usageError(`containerd-style filters need listContainers' where option`)
  return parsed.docker
}

export function matchesFilters(container: ContainerInfo, filters: readonly ContainerFilter[]): boolean {
  const anyOf = (key: 'status' | 'id', actual: string) => {
    const wanted = filters.filter((f) => f.key === key)
    return wanted.length === 0 || wanted.some((f) => f.value === actual)
  }
  const labels = filters.filter((f) => f.key === 'label')
  return (
    anyOf('status', container.status) &&
    anyOf('id', container.id) &&
    labels.every((f) => f.name! in container.labels && (f.value === undefined || container.labels[f.name!] === f.value))
  )
}

/** The namespace's containers with their task state, sorted by ID, filtered. */
/**
 * The namespace's containers with their task state, sorted by ID, filtered: `filters` (docker-style) by ctr;
 * each of `where` (containerd-style alternatives, ORed) by the daemon, its status conditions by ctr.
 */
export async function listContainers(
  client: ContainerdClient,
  options: {filters?: readonly ContainerFilter[]; where?: readonly FilterAlternative[]} = {},
): Promise<ContainerInfo[]> {
  const where = options.where?.length ? options.where : [{daemon: '', status: []}]
  const service = client.service(ContainersDefinition)
  // One List per alternative: the daemon ORs several strings, but each brings its own status conditions.
  const [tasks, ...lists] = await Promise.all([listTasks(client), ...where.map((alt) => service.list({filters: alt.daemon ? [alt.daemon] : []}))])
  const byId = new Map(tasks.map((task) => [task.id, task]))
  const found = new Map<string, ContainerInfo>()
  lists.forEach(({containers}, k) => {
    for (const container of containers) {
      const info = containerInfo(container, byId.get(container.id))
      if (matchesStatus(info.status, where[k].status)) found.set(info.id, info)
    }
  })
  return [...found.values()].filter((info) => matchesFilters(info, options.filters ?? [])).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export function containerInfo(container: Container, task: TaskInfo | undefined): ContainerInfo {
  // No task: never started (Go's `ctr c create`, CRI before StartContainer), unless ctr saw it exit.
  const status = task?.status ?? (EXIT_STATUS_LABEL in container.labels ? 'stopped' : 'created')
  const label = container.labels[EXIT_STATUS_LABEL]
  const exitStatus = task?.exitStatus ?? (label !== undefined && /^\d+$/.test(label) ? Number(label) : undefined)
  return {
    id: container.id,
    bundle: container.labels[BUNDLE_LABEL] ?? '',
    image: container.image ?? '',
    status,
    pid: task && status !== 'stopped' ? task.pid : 0,
    ...(exitStatus !== undefined ? {exitStatus} : {}),
    created: container.createdAt,
    labels: container.labels,
    runtime: container.runtime?.name ?? '',
  }
}

export interface DeleteOptions {
  /** Kill (SIGKILL) a live task first instead of refusing. */
  force?: boolean
  /** Keep the container's log file (logs/files.ts); by default it goes with the container. */
  keepLog?: boolean
  /** Where ctr's log records are (logs/files.ts logRoot()). */
  logRoot?: string
}

/**
 * Deletes a container: its exited task record first, if any; a live task only with force (SIGKILL, wait,
 * delete), then its network set-up (network/container-network.ts), the record, the snapshot, its log file
 * unless keepLog. `container "x" not found in namespace "n"` when there is no such container, unless a dead
 * ctr's start left a network set-up under the ID (then that goes).
 */
export async function deleteContainer(client: ContainerdClient, id: string, options: DeleteOptions = {}): Promise<{id: string}> {
  const containers = client.service(ContainersDefinition)
  const container = await requireContainer(client, id).catch(async (error) => {
    // ctr's network records and log files are this host's: over ssh they belong to another machine's containers.
    if (error instanceof CtrError && error.kind === 'not-found' && !client.remote && isIdentifier(id) && (await teardownOrphanNetwork(client.namespace, id)))
      return undefined
    throw error
  })
  if (!container) return {id}
  const task = await getTask(client, id)
  // A created task never ran (docker removes those without -f too); stopped ones are just records.
  if (task && !options.force && task.status !== 'stopped' && task.status !== 'created') {
    throw optionError('failed-precondition', (o) => `container "${id}" is ${task.status}: stop it first (kill it) or use ${o('force')}`)
  }
  if (task) await removeTask(client, id)
  // After the task: DEL finds the interfaces in the pinned namespace, and nothing uses them any more.
  if (!client.remote) await teardownNetwork(client.namespace, id)
  await containers.delete({id}).catch((error) => {
    throw notFound(error, id, client.namespace)
  })
  // A container started from an image has its own writable snapshot (key snapshotKey): it goes too.
  if (container.snapshotKey && container.snapshotter) await removeSnapshot(client, container.snapshotter, container.snapshotKey)
  if (!options.keepLog && !client.remote) await removeLog(client.namespace, id, container.labels, options.logRoot)
  return {id}
}

/** Sets these labels of a container, and only these (Update with one `labels.<key>` path each); '' removes one. */
export async function setLabels(client: ContainerdClient, id: string, labels: Record<string, string>): Promise<void> {
  await client.service(ContainersDefinition).update({container: {id, labels}, updateMask: Object.keys(labels).map((k) => `labels.${k}`)})
}

/** The container record; `container "x" not found in namespace "n"` when there is none. */
export async function requireContainer(client: ContainerdClient, id: string): Promise<Container> {
  const {container} = await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      throw notFound(error, id, client.namespace)
    })
  if (!container) throw new CtrError('not-found', `container "${id}" not found`)
  return container
}

function notFound(error: unknown, id: string, namespace: string): unknown {
  if (error instanceof CtrError && error.kind === 'not-found') return containerNotFound(id, namespace, error)
  return error
}
