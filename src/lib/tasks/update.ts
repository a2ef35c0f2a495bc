/**
 * `containers update`: new resource limits for a container, live through Tasks.Update (runc update) when it
 * has a task, and in its spec (Containers.Update, field `spec`) so a restart or a later start keeps them.
 * The task first: if the runtime refuses the values (a memory limit under current usage), nothing changes.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
import type {OciSpec} from '../containers/bundle'
import {requireContainer} from '../containers/containers'
import {applyRunSettings, type RunSettings} from '../containers/run-options'
import {withContainer} from './processes'
import {SPEC_TYPE_URL} from './start'
import {getTask} from './tasks'

/** How containerd names runtime-spec's LinuxResources in an Any (JSON, as Go's typeurl registers it). */
export const LINUX_RESOURCES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources'

export type ResourceSettings = Pick<RunSettings, 'memory' | 'cpus' | 'cpuShares' | 'pidsLimit'>

export interface UpdateResult {
  id: string
  /** Whether a live task got the limits too (else only the spec: the next start uses them). */
  live: boolean
  resources: Record<string, unknown>
}

export async function updateContainer(client: ContainerdClient, id: string, settings: ResourceSettings): Promise<UpdateResult> {
  if (Object.values(settings).every((v) => v === undefined)) throw usageError('nothing to update: give a memory, CPU or pids limit')
  const container = await requireContainer(client, id)
  const spec = JSON.parse(Buffer.from(container.spec?.value ?? []).toString('utf8') || '{}') as OciSpec
  if (!spec.process) throw new CtrError('failed-precondition', `container "${id}" has no runtime spec ctr can change`)
  // Limits only: no user names to look up, so no root to open.
  const noRoot = () => Promise.reject(new CtrError('internal', 'update looks up no user names'))
  await applyRunSettings(spec, settings, noRoot, `container "${id}"`)
  const all = (spec.linux?.resources ?? {}) as Record<string, Record<string, unknown> | undefined>
  // Only what changes goes to runc update: the rest of the cgroup stays as it is.
  const changed: Record<string, unknown> = {}
  if (settings.memory !== undefined) changed.memory = {limit: settings.memory}
  if (settings.cpus !== undefined || settings.cpuShares !== undefined) {
    changed.cpu = Object.fromEntries(Object.entries(all.cpu ?? {}).filter(([k]) => ['quota', 'period', 'shares'].includes(k)))
  }
  if (settings.pidsLimit !== undefined) changed.pids = {limit: settings.pidsLimit}
  const task = await getTask(client, id)
  const live = Boolean(task && task.status !== 'stopped')
  if (live) {
    await client
      .service(TasksDefinition)
      .update({containerId: id, resources: {typeUrl: LINUX_RESOURCES_TYPE_URL, value: Buffer.from(JSON.stringify(changed))}, annotations: {}})
      .catch((error) => {
        throw withContainer(error, id)
      })
  }
  await client
    .service(ContainersDefinition)
    .update({
      container: {...container, spec: {typeUrl: container.spec?.typeUrl || SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec))}},
      updateMask: ['spec'],
    })
    .catch((error) => {
      throw withContainer(error, id)
    })
  return {id, live, resources: changed}
}
