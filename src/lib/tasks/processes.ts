/**
 * Acting on a running task's processes: signal (the init, one exec process by its host PID, or all), pause,
 * resume, and list them. containerd signals processes by exec ID, not PID, so a PID is first mapped to its
 * exec process through Tasks.ListPids, whose runc shim tags each exec's main process with
 * `containerd.runc.v1.ProcessDetails{exec_id}`.
 */
import {ProcessDetails} from '../../gen/containerd/runc/options/oci'
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Any} from '../../gen/google/protobuf/any'
import type {ContainerdClient} from '../containerd/client'
import {containerNotFound, CtrError, namesContainer, optionError} from '../containerd/errors'
import {execExits, reapExecs} from './exec-exits'
import {parseSignal, SIGTERM} from './signals'
import {type ProcessStatus, processStatus} from './status'

const PROCESS_DETAILS = 'containerd.runc.v1.ProcessDetails'

export interface KillOptions {
  /** Signal number (parse names with parseSignal); default SIGTERM. */
  signal?: number
  /** Host PID of the process to signal; 0 (the default) is the init process. */
  pid?: number
  /** Signal every process of the container. */
  all?: boolean
  /** The exec process to signal, by its exec ID. */
  execId?: string
}

/** Where images keep their STOPSIGNAL; Go ctr's kill honours it when no --signal is given. */
export const STOP_SIGNAL_LABEL = 'io.containerd.image.config.stop-signal'

export interface KillResult {
  id: string
  signal: number
  /** The process signalled: '' for the init process. */
  execId: string
  pid: number
  all: boolean
}

export interface ProcessEntry {
  /** Host PID. */
  pid: number
  /** The exec process this PID is the main process of; the container ID for the init (as events name it); '' for other processes. */
  execId: string
  /** Whether this is the container's init process. */
  init: boolean
  /** running, paused, ... for the init and exec processes; undefined for other processes of the container. */
  status?: ProcessStatus
  /** Only for processes that exited (listed with `all`): 128+N when killed by signal N. */
  exitStatus?: number
  exitedAt?: Date
}

/** `--pid` text → a non-negative integer, or a usage error naming it. */
export function parsePid(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw optionError('usage', (o) => `invalid ${o('pid')} "${text}": must be a non-negative integer`)
  return Number(text.trim())
}

/** Validates kill options before anything is sent, so a bad flag fails once, not once per container. */
export function checkKillOptions(options: KillOptions): void {
  const pid = options.pid ?? 0
  if (!Number.isInteger(pid) || pid < 0) throw optionError('usage', (o) => `invalid ${o('pid')} ${pid}: must be a non-negative integer`)
  if (pid !== 0 && options.all) throw optionError('usage', (o) => `${o('pid')} and ${o('all')} cannot be used together`)
  if (options.execId !== undefined && (pid !== 0 || options.all))
    throw optionError('usage', (o) => `${o('execId')} cannot be used with ${o('pid')} or ${o('all')}`)
}

export async function killTask(client: ContainerdClient, id: string, options: KillOptions = {}): Promise<KillResult> {
  checkKillOptions(options)
  const signal = options.signal ?? (await stopSignal(client, id))
  const pid = options.pid ?? 0
  const all = Boolean(options.all)
  const execId = options.execId ?? (pid === 0 ? '' : await execIdForPid(client, id, pid))
  await tasks(client)
    .kill({containerId: id, execId, signal, all})
    .catch((error) => {
      throw withContainer(error, id)
    })
  return {id, signal, execId, pid, all}
}

/** The container's stop signal (stopSignalOf); an unknown container fails here, in the one wording. */
async function stopSignal(client: ContainerdClient, id: string): Promise<number> {
  const {container} = await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      throw error instanceof CtrError && error.kind === 'not-found' ? containerNotFound(id, client.namespace, error) : error
    })
  return stopSignalOf({id, labels: container?.labels ?? {}})
}

/**
 * The signal that asks this container to stop, as Go's containerd.GetStopSignal reads it: the label
 * STOP_SIGNAL_LABEL (set from the image's config.StopSignal when the container was made from an image),
 * else SIGTERM. A label ctr cannot parse is an error that says to give a signal.
 */
export function stopSignalOf(container: {id: string; labels: Readonly<Record<string, string>>}): number {
  const label = container.labels[STOP_SIGNAL_LABEL]
  if (!label) return SIGTERM
  try {
    return parseSignal(label)
  } catch {
    throw optionError(
      'invalid-argument',
      (o) => `container "${container.id}" has a stop signal ctr does not know: ${JSON.stringify(label)} (give a ${o('signal')})`,
    )
  }
}

export async function pauseTask(client: ContainerdClient, id: string): Promise<{id: string}> {
  await tasks(client)
    .pause({containerId: id})
    .catch((error) => {
      throw withContainer(error, id)
    })
  return {id}
}

export async function resumeTask(client: ContainerdClient, id: string): Promise<{id: string}> {
  await tasks(client)
    .resume({containerId: id})
    .catch((error) => {
      throw withContainer(error, id)
    })
  return {id}
}

/**
 * Every process of the container's task (the init, exec processes and their children), by PID. With `all`,
 * also the processes that exited: the init of a stopped task, and the exec processes ctr recorded on exit
 * (exec-exits.ts), after the live ones, newest first. Listing reaps the detached execs that exited first.
 */
export async function listProcesses(client: ContainerdClient, id: string, options: {all?: boolean} = {}): Promise<ProcessEntry[]> {
  const service = tasks(client)
  const [pids, init, recorded] = await Promise.all([
    service.listPids({containerId: id}),
    service.get({containerId: id}),
    client
      .service(ContainersDefinition)
      .get({id})
      .then((r) => r.container?.labels ?? {})
      // Without --all the labels only serve the reap: a failure here is the other calls' to report.
      .catch((error) => (options.all ? Promise.reject(error) : undefined)),
  ]).catch((error) => {
    throw withContainer(error, id)
  })
  // An exec that exits between ListPids and here is listed live, without a status (as one deleted meanwhile).
  const reaped = recorded
    ? await reapExecs(client, id, {labels: recorded}).catch((error) => {
        throw withContainer(error, id)
      })
    : undefined
  const entries = pids.processes.map((p) => {
    const isInit = p.pid === init.process?.pid
    return {pid: p.pid, execId: isInit ? id : execIdOf(p.info), init: isInit}
  })
  const live = await Promise.all(
    entries
      .sort((a, b) => Number(b.init) - Number(a.init) || a.pid - b.pid)
      .map(async (entry): Promise<ProcessEntry> => {
        if (entry.init) return {...entry, status: processStatus(init.process?.status)}
        if (!entry.execId) return entry
        // The exec may have been deleted between the two calls: list it without a status then.
        const exec = await service.get({containerId: id, execId: entry.execId}).catch(() => undefined)
        return {...entry, status: exec ? processStatus(exec.process?.status) : undefined}
      }),
  )
  const labels = reaped?.labels
  if (!options.all || !labels) return live
  const exited: ProcessEntry[] = []
  const initProcess = init.process
  if (initProcess && processStatus(initProcess.status) === 'stopped') {
    exited.push({pid: initProcess.pid, execId: id, init: true, status: 'stopped', exitStatus: initProcess.exitStatus, exitedAt: initProcess.exitedAt})
  }
  const running = new Set(live.map((p) => p.execId))
  for (const exit of execExits(labels)) {
    // Records of an earlier task of this container (started again since) are not this task's processes.
    if (running.has(exit.execId) || (exit.initPid !== undefined && exit.initPid !== initProcess?.pid)) continue
    exited.push({pid: exit.pid, execId: exit.execId, init: false, status: 'stopped', exitStatus: exit.exitStatus, exitedAt: exit.exitedAt})
  }
  return [...live, ...exited]
}

/** Maps a host PID to its exec ID ('' for the init process); fails for PIDs that are neither. */
async function execIdForPid(client: ContainerdClient, id: string, pid: number): Promise<string> {
  const service = tasks(client)
  const [pids, init] = await Promise.all([service.listPids({containerId: id}), service.get({containerId: id})]).catch((error) => {
    throw withContainer(error, id)
  })
  if (init.process?.pid === pid) return ''
  const found = pids.processes.find((p) => p.pid === pid)
  if (!found) throw new CtrError('not-found', `no process with PID ${pid} in container "${id}"`)
  const execId = execIdOf(found.info)
  if (!execId) {
    throw optionError(
      'invalid-argument',
      (o) => `PID ${pid} in container "${id}" is neither its init nor an exec process (containerd can signal only those; try ${o('all')})`,
    )
  }
  return execId
}

function execIdOf(info: Any | undefined): string {
  if (!info || info.typeUrl.slice(info.typeUrl.lastIndexOf('/') + 1) !== PROCESS_DETAILS) return ''
  return ProcessDetails.decode(info.value).execId
}

function tasks(client: ContainerdClient) {
  return client.service(TasksDefinition)
}

/**
 * containerd's task errors do not always say which container ("no running task found: task x not found",
 * "process already finished"): name it, so a multi-ID run is readable.
 */
export function withContainer(error: unknown, id: string): unknown {
  if (!(error instanceof CtrError) || error.kind === 'cancelled' || error.kind === 'unavailable' || error.kind === 'deadline-exceeded') return error
  const subject = {type: 'container', id} as const
  if (error.kind === 'not-found' && error.subject?.type === 'task') {
    return new CtrError('not-found', `container "${id}" has no running task`, {cause: error, subject})
  }
  if (namesContainer(error, id)) return error
  return new CtrError(error.kind, `container "${id}": ${error.message}`, {cause: error, exitCode: error.exitCode, subject})
}
