/**
 * `containers info`: everything containerd holds about a container, as Go ctr's `containers info` and
 * nerdctl's `inspect` show it: the record (labels, image, runtime and its options, snapshotter and snapshot
 * key, times, extensions), the OCI spec decoded from its Any, the log path ctr keeps in a label, and the
 * task's state. Any values of known types are decoded (spec JSON, runc Options); others are kept as
 * `{typeUrl, value}` with the value in base64, so nothing containerd holds is dropped.
 */
import {Options as RuncOptions} from '../../gen/containerd/runc/options/oci'
import type {Any} from '../../gen/google/protobuf/any'
import type {ContainerdClient} from '../containerd/client'
import {LOG_LABEL} from '../logs/files'
import type {ProcessStatus} from '../tasks/status'
import {getTask} from '../tasks/tasks'
import {requireContainer} from './containers'
import type {NetworkAttachment} from '../network/attach'
import {containerNetwork} from '../network/container-network'

const SPEC_TYPE = 'opencontainers/runtime-spec/1/Spec'
const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options'

export interface RawAny {
  typeUrl: string
  /** base64 */
  value: string
}

export interface ContainerDetails {
  id: string
  labels: Record<string, string>
  image: string
  runtime: {name: string; options: (Record<string, unknown> & {typeUrl: string}) | null}
  snapshotter: string
  snapshotKey: string
  createdAt: Date | null
  updatedAt: Date | null
  extensions: Record<string, RawAny>
  /** The OCI runtime spec; a RawAny if containerd holds some other type. */
  spec: Record<string, unknown> | RawAny | null
  /** The log file ctr keeps for a detached start (LOG_LABEL), null for none. */
  logPath: string | null
  /** Its CNI networks (addresses) and published ports, from ctr's record; null without one. */
  network: NetworkAttachment | null
  /** The container's task, null when it has none. */
  task: {
    status: ProcessStatus
    pid: number
    terminal: boolean
    stdin: string
    stdout: string
    stderr: string
    exitStatus?: number
    exitedAt?: Date
  } | null
}

export async function inspectContainer(client: ContainerdClient, id: string): Promise<ContainerDetails> {
  const container = await requireContainer(client, id)
  const task = await getTask(client, id)
  return {
    id: container.id,
    labels: container.labels,
    image: container.image,
    runtime: {name: container.runtime?.name ?? '', options: container.runtime?.options ? runtimeOptions(container.runtime.options) : null},
    snapshotter: container.snapshotter,
    snapshotKey: container.snapshotKey,
    createdAt: container.createdAt ?? null,
    updatedAt: container.updatedAt ?? null,
    extensions: Object.fromEntries(Object.entries(container.extensions).map(([key, value]) => [key, rawAny(value)])),
    spec: container.spec ? decodeSpec(container.spec) : null,
    logPath: container.labels[LOG_LABEL] ?? null,
    network: (await containerNetwork(client.namespace, id)) ?? null,
    task: task
      ? {
          status: task.status,
          pid: task.pid,
          terminal: task.terminal,
          ...task.stdio,
          ...(task.exitStatus !== undefined ? {exitStatus: task.exitStatus, exitedAt: task.exitedAt} : {}),
        }
      : null,
  }
}

export function rawAny(any: Any): RawAny {
  return {typeUrl: any.typeUrl, value: Buffer.from(any.value).toString('base64')}
}

/** The spec JSON (1.6 and 2.x both use the bare type URL; a prefixed one is accepted too). */
export function decodeSpec(any: Any): Record<string, unknown> | RawAny {
  if (!any.typeUrl.endsWith(SPEC_TYPE)) return rawAny(any)
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as Record<string, unknown>
  } catch {
    return rawAny(any)
  }
}

export function runtimeOptions(any: Any): Record<string, unknown> & {typeUrl: string} {
  if (any.typeUrl.split('/').pop() === RUNC_OPTIONS_TYPE) {
    try {
      return {typeUrl: any.typeUrl, ...RuncOptions.decode(any.value)}
    } catch {
      // undecodable: fall through to the raw bytes
    }
  }
  return rawAny(any) as unknown as Record<string, unknown> & {typeUrl: string}
}
