/**
 * Task metrics: cgroup v1 and v2 payloads decoded into one shape, CPU % from two samples, and a sampling loop
 * for `ctr containers stats`.
 *
 * Tasks.Metrics{filters: ['id==X']} returns one Metric per task, its `data` an Any named
 * `io.containerd.cgroups.v1.Metrics` (cgroup v1 hosts, as here) or `io.containerd.cgroups.v2.Metrics`. A stopped
 * task that is not deleted still has its cgroup and still reports metrics (pids 0), so liveness comes from
 * the task's status (Tasks.List), not from the presence of metrics.
 */
import {totalmem} from 'node:os'

import {sleep} from '../sleep'
import type {ContainerdClient} from '../containerd/client'
import {containerNotFound, CtrError} from '../containerd/errors'
import {Metrics as MetricsV1} from '../../gen/cgroups/v1/metrics'
import {Metrics as MetricsV2} from '../../gen/cgroups/v2/metrics'
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Any} from '../../gen/google/protobuf/any'
import {type ProcessStatus, processStatus} from '../tasks/status'

/** One reading of one task's cgroup. Byte counts and nanoseconds as numbers (exact up to 2^53). */
export interface MetricsSample {
  id: string
  /** When the daemon read the cgroup. */
  timestamp: Date
  cgroup: 'v1' | 'v2'
  /** Cumulative CPU time, ns. */
  cpuNs: number
  /** Memory in use minus inactive page cache (what docker and nerdctl show). */
  memoryUsage: number
  /** undefined: no limit (the kernel reports ~2^63 on v1 and 2^64-1 on v2). */
  memoryLimit?: number
  pids: number
  /** undefined: no limit. */
  pidsLimit?: number
  blkRead: number
  blkWrite: number
  /** Only when the runtime reports network stats (the runc shim does not). */
  netRx?: number
  netTx?: number
}

export const METRICS_V1_TYPE = 'io.containerd.cgroups.v1.Metrics'
export const METRICS_V2_TYPE = 'io.containerd.cgroups.v2.Metrics'

/** Anything at or above 2^62 is the kernel's "max", not a real limit. */
const UNLIMITED = 2 ** 62

const num = (value: bigint | number | undefined): number => Number(value ?? 0)
const limit = (value: bigint | number | undefined): number | undefined => {
  const n = num(value)
  return n <= 0 || n >= UNLIMITED ? undefined : n
}

/** Decodes a Metric's data by the type name after the last '/'. */
export function decodeMetrics(id: string, timestamp: Date, data: Any): MetricsSample {
  const typeName = data.typeUrl.slice(data.typeUrl.lastIndexOf('/') + 1)
  if (typeName === METRICS_V1_TYPE) return fromV1(id, timestamp, MetricsV1.decode(data.value))
  if (typeName === METRICS_V2_TYPE) return fromV2(id, timestamp, MetricsV2.decode(data.value))
  throw new CtrError('unimplemented', `metrics for "${id}" come as ${data.typeUrl}, which this ctr cannot read`)
}

export function fromV1(id: string, timestamp: Date, m: MetricsV1): MetricsSample {
  const usage = num(m.memory?.usage?.usage)
  // Docker's convention on v1: subtract the reclaimable cache (total_inactive_file), never below zero.
  const inactiveFile = num(m.memory?.totalInactiveFile)
  let blkRead = 0
  let blkWrite = 0
  for (const entry of m.blkio?.ioServiceBytesRecursive ?? []) {
    const op = entry.op.toLowerCase()
    if (op === 'read') blkRead += num(entry.value)
    else if (op === 'write') blkWrite += num(entry.value)
  }
  const sample: MetricsSample = {
    id,
    timestamp,
    cgroup: 'v1',
    cpuNs: num(m.cpu?.usage?.total),
    memoryUsage: Math.max(0, usage - inactiveFile),
    memoryLimit: limit(m.memory?.usage?.limit),
    pids: num(m.pids?.current),
    pidsLimit: limit(m.pids?.limit),
    blkRead,
    blkWrite,
  }
  if (m.network.length > 0) {
    sample.netRx = m.network.reduce((sum, n) => sum + num(n.rxBytes), 0)
    sample.netTx = m.network.reduce((sum, n) => sum + num(n.txBytes), 0)
  }
  return sample
}

export function fromV2(id: string, timestamp: Date, m: MetricsV2): MetricsSample {
  const usage = num(m.memory?.usage)
  let blkRead = 0
  let blkWrite = 0
  for (const entry of m.io?.usage ?? []) {
    blkRead += num(entry.rbytes)
    blkWrite += num(entry.wbytes)
  }
  return {
    id,
    timestamp,
    cgroup: 'v2',
    cpuNs: num(m.cpu?.usageUsec) * 1000,
    // Docker's convention on v2: subtract inactive_file.
    memoryUsage: Math.max(0, usage - num(m.memory?.inactiveFile)),
    memoryLimit: limit(m.memory?.usageLimit),
    pids: num(m.pids?.current),
    pidsLimit: limit(m.pids?.limit),
    blkRead,
    blkWrite,
  }
}

/**
 * CPU use between two samples as a percentage of ONE core (docker's convention: 4 busy cores = 400%).
 * undefined when the samples cannot be compared (same instant, or the counter went back: a new task).
 */
export function cpuPercent(previous: MetricsSample | undefined, current: MetricsSample): number | undefined {
  if (!previous) return undefined
  const wallNs = (current.timestamp.getTime() - previous.timestamp.getTime()) * 1e6
  const cpuNs = current.cpuNs - previous.cpuNs
  if (wallNs <= 0 || cpuNs < 0) return undefined
  return (cpuNs / wallNs) * 100
}

// -- sampling -------------------------------------------------------------------------------------------

/** One row of `ctr containers stats`. Usage fields are absent unless the task is running or paused. */
export interface ContainerStats {
  id: string
  state: ProcessStatus
  timestamp: Date
  cpuPercent?: number
  memoryUsage?: number
  /** null: unlimited (memoryPercent is then relative to the host's memory, as docker shows it). */
  memoryLimit?: number | null
  memoryPercent?: number
  pids?: number
  pidsLimit?: number | null
  blockRead?: number
  blockWrite?: number
  netRx?: number
  netTx?: number
}

/** Every task in the namespace by container ID. Containers without a task are absent. */
export async function taskStates(client: ContainerdClient, signal?: AbortSignal): Promise<Map<string, ProcessStatus>> {
  const {tasks} = await client.service(TasksDefinition).list({}, {signal})
  const states = new Map<string, ProcessStatus>()
  // Tasks.List lists init processes only, keyed by container ID.
  for (const task of tasks) states.set(task.id || task.containerId, processStatus(task.status))
  return states
}

/** One Metrics call for several tasks (the filters OR). Tasks without a cgroup are absent from the result. */
export async function readMetrics(client: ContainerdClient, ids: readonly string[], signal?: AbortSignal): Promise<Map<string, MetricsSample>> {
  const samples = new Map<string, MetricsSample>()
  if (ids.length === 0) return samples
  const {metrics} = await client.service(TasksDefinition).metrics({filters: ids.map((id) => `id==${JSON.stringify(id)}`)}, {signal})
  for (const metric of metrics) {
    if (!metric.data) continue
    samples.set(metric.id, decodeMetrics(metric.id, metric.timestamp ?? new Date(), metric.data))
  }
  return samples
}

/** Fails, naming every one, if any of the IDs is not a container in the namespace. */
export async function checkContainersExist(client: ContainerdClient, ids: readonly string[], signal?: AbortSignal): Promise<void> {
  const found = await Promise.all(
    ids.map((id) =>
      client
        .service(ContainersDefinition)
        .get({id}, {signal})
        .then(
          () => true,
          (error) => {
            if (error instanceof CtrError && error.kind === 'not-found') return false
            throw error
          },
        ),
    ),
  )
  const missing = ids.filter((_, i) => !found[i])
  if (missing.length > 0) {
    throw containerNotFound(missing, client.namespace)
  }
}

export function toStats(
  id: string,
  state: ProcessStatus,
  sample: MetricsSample | undefined,
  previous: MetricsSample | undefined,
  hostMemory = totalmem(),
): ContainerStats {
  const active = state === 'running' || state === 'paused' || state === 'pausing'
  if (!active || !sample) return {id, state, timestamp: sample?.timestamp ?? new Date()}
  const effectiveLimit = sample.memoryLimit ?? hostMemory
  const stats: ContainerStats = {
    id,
    state,
    timestamp: sample.timestamp,
    cpuPercent: cpuPercent(previous, sample),
    memoryUsage: sample.memoryUsage,
    memoryLimit: sample.memoryLimit ?? null,
    memoryPercent: effectiveLimit > 0 ? (sample.memoryUsage / effectiveLimit) * 100 : undefined,
    pids: sample.pids,
    pidsLimit: sample.pidsLimit ?? null,
    blockRead: sample.blkRead,
    blockWrite: sample.blkWrite,
  }
  if (sample.netRx !== undefined) {
    stats.netRx = sample.netRx
    stats.netTx = sample.netTx
  }
  return stats
}

export interface WatchStatsOptions {
  /** Containers to watch; empty: every running task of the namespace, re-listed each round (new ones appear). */
  ids: readonly string[]
  intervalMs: number
  /** Gap between the two first samples (CPU % needs two). Default min(250 ms, intervalMs). */
  firstGapMs?: number
  signal?: AbortSignal
  /**
   * Called when a round fails because the daemon went away or did not answer (then the round is skipped and
   * the next one tried) and with null when rounds work again. Without it such a failure ends the stream.
   */
  onOutage?: (error: CtrError | null) => void
}

/**
 * Rounds of stats, every intervalMs, until aborted (or until the consumer stops). The first round comes
 * after firstGapMs so it already carries CPU %. Unknown IDs fail at once; a container that stops stays in
 * the rounds as `stopped`.
 */
export async function* watchStats(client: ContainerdClient, options: WatchStatsOptions): AsyncGenerator<ContainerStats[]> {
  const {signal} = options
  if (options.ids.length > 0) await checkContainersExist(client, options.ids, signal)
  const previous = new Map<string, MetricsSample>()

  const round = async (): Promise<ContainerStats[]> => {
    const states = await taskStates(client, signal)
    const ids =
      options.ids.length > 0
        ? [...options.ids]
        : [...states]
            .filter(([, s]) => s === 'running' || s === 'paused')
            .map(([id]) => id)
            .sort()
    const live = ids.filter((id) => ['running', 'paused', 'pausing'].includes(states.get(id) ?? 'stopped'))
    const samples = await readMetrics(client, live, signal)
    return ids.map((id) => {
      const sample = samples.get(id)
      const stats = toStats(id, states.get(id) ?? 'stopped', sample, previous.get(id))
      if (sample) previous.set(id, sample)
      else previous.delete(id)
      return stats
    })
  }

  await round()
  await sleep(options.firstGapMs ?? Math.min(250, options.intervalMs), signal)
  let down = false
  for (;;) {
    const started = Date.now()
    let stats: ContainerStats[] | undefined
    try {
      stats = await round()
    } catch (error) {
      const transient = error instanceof CtrError && (error.kind === 'unavailable' || error.kind === 'deadline-exceeded')
      if (!options.onOutage || !transient || signal?.aborted) throw error
      if (!down) options.onOutage(error)
      down = true
      // CPU % across an outage would average over it: start over from a fresh pair of samples.
      previous.clear()
    }
    if (stats) {
      if (down) options.onOutage?.(null)
      down = false
      yield stats
    }
    await sleep(Math.max(0, options.intervalMs - (Date.now() - started)), signal)
  }
}
