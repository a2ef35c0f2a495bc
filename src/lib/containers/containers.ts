/**
 * Container records and their task state: listing (Containers.List joined with Tasks.List: two calls
 * whatever the count), filters, and deletion.
 */
import {ContainersDefinition, type Container} from '../../gen/containerd/services/containers/v1/containers'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier, MAX_IDENTIFIER_LENGTH} from '../containerd/identifiers'
import {removeLog} from '../logs/files'
import type {ProcessStatus} from '../tasks/status'
import {getTask, listTasks, removeTask, type TaskInfo} from '../tasks/tasks'

/** The label `ctr containers start` keeps the bundle path in, so the list can show it. */
export const BUNDLE_LABEL = 'io.ctr.bundle'

/** containerd's identifier rule, checked before anything is created. */
export function checkContainerId(id: string): void {
  if (!isIdentifier(id)) {
    throw usageError(
      `invalid container ID ${JSON.stringify(id)}: use letters, digits and single . _ - between them, at most ${MAX_IDENTIFIER_LENGTH} characters`,
    )
  }
}

/** A container's status: its task's, or `stopped` when it has none. */
export type ContainerStatus = ProcessStatus
export const CONTAINER_STATUSES: readonly ContainerStatus[] = ['created', 'running', 'paused', 'pausing', 'stopped', 'unknown']

export interface ContainerInfo {
  id: string
  /** Bundle path (from BUNDLE_LABEL), '' for containers made otherwise (e.g. from an image). */
  bundle: string
  /** Image name, for containers made from one (by Go ctr, nerdctl...). */
  image?: string
  status: ContainerStatus
  /** Host PID of the init process; 0 when there is no live task. */
  pid: number
  /** Exit status of a task that has exited but is not deleted yet. */
  exitStatus?: number
  created?: Date
  labels: Record<string, string>
  runtime: string
}

export interface ContainerFilter {
  key: 'status' | 'id' | 'label'
  /** For label: the label key. */
  name?: string
  /** For label: the value, or undefined to match any value. */
  value?: string
}

/**
 * `--filter` texts → filters: `status=running`, `id=web`, `label=k=v`, `label=k` (has the label).
 * Different keys must all match; several of the same key match any of them (status=stopped,
 * status=created), except label, where every one must match (as docker does).
 */
export function parseFilters(texts: readonly string[]): ContainerFilter[] {
  return texts.map((text) => {
    const eq = text.indexOf('=')
    const key = eq < 0 ? text : text.slice(0, eq)
    const value = eq < 0 ? '' : text.slice(eq + 1)
    const bad = (why: string) => usageError(`invalid --filter "${text}": ${why}`)
    if (key === 'status') {
      if (!(CONTAINER_STATUSES as readonly string[]).includes(value)) throw bad(`status must be one of ${CONTAINER_STATUSES.join(', ')}`)
      return {key, value}
    }
    if (key === 'id') {
      if (!value) throw bad('id needs a value (id=ID)')
      return {key, value}
    }
    if (key === 'label') {
      if (!value) throw bad('label needs a key (label=KEY or label=KEY=VALUE)')
      const labelEq = value.indexOf('=')
      return labelEq < 0 ? {key, name: value} : {key, name: value.slice(0, labelEq), value: value.slice(labelEq + 1)}
    }
    throw bad('use status=STATUS, id=ID or label=KEY[=VALUE]')
  })
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
export async function listContainers(client: ContainerdClient, options: {filters?: readonly ContainerFilter[]} = {}): Promise<ContainerInfo[]> {
  const [{containers}, tasks] = await Promise.all([client.service(ContainersDefinition).list({filters: []}), listTasks(client)])
  const byId = new Map(tasks.map((task) => [task.id, task]))
  return containers
    .map((container) => containerInfo(container, byId.get(container.id)))
    .filter((info) => matchesFilters(info, options.filters ?? []))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export function containerInfo(container: Container, task: TaskInfo | undefined): ContainerInfo {
  const status = task?.status ?? 'stopped'
  return {
    id: container.id,
    bundle: container.labels[BUNDLE_LABEL] ?? '',
    ...(container.image ? {image: container.image} : {}),
    status,
    pid: task && status !== 'stopped' ? task.pid : 0,
    ...(task?.exitStatus !== undefined ? {exitStatus: task.exitStatus} : {}),
    created: container.createdAt,
    labels: container.labels,
    runtime: container.runtime?.name ?? '',
  }
}

export interface DeleteOptions {
  /** Kill (SIGKILL) a live task first instead of refusing. */
  force?: boolean
  /** Keep the container's log file (logs.ts); by default it goes with the container. */
  keepLog?: boolean
}

/**
 * Deletes a container: its exited task record first, if any; a live task only with force (SIGKILL, wait,
 * delete), then its log file unless keepLog. `container "x" not found` when there is no such container.
 */
export async function deleteContainer(client: ContainerdClient, id: string, options: DeleteOptions = {}): Promise<{id: string}> {
  const containers = client.service(ContainersDefinition)
  const container = await requireContainer(client, id)
  const task = await getTask(client, id)
  // A created task never ran (docker removes those without -f too); stopped ones are just records.
  if (task && !options.force && task.status !== 'stopped' && task.status !== 'created') {
    throw new CtrError('failed-precondition', `container "${id}" is ${task.status}: stop it first (ctr containers kill) or use --force`)
  }
  if (task) await removeTask(client, id)
  await containers.delete({id}).catch((error) => {
    throw notFound(error, id)
  })
  if (!options.keepLog) await removeLog(container.labels)
  return {id}
}

/** The container record; `container "x" not found` when there is none. */
export async function requireContainer(client: ContainerdClient, id: string): Promise<Container> {
  const {container} = await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      throw notFound(error, id)
    })
  if (!container) throw new CtrError('not-found', `container "${id}" not found`)
  return container
}

function notFound(error: unknown, id: string): unknown {
  if (error instanceof CtrError && error.kind === 'not-found') return new CtrError('not-found', `container "${id}" not found`, {cause: error})
  return error
}
