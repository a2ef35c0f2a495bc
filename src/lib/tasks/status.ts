/** A task's or process's status as ctr shows it: containerd's Status enum as text, in one place. */
import {Status} from '../../gen/containerd/types/task/task'

export type ProcessStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing'

const STATUS_NAMES: Partial<Record<Status, ProcessStatus>> = {
  [Status.CREATED]: 'created',
  [Status.RUNNING]: 'running',
  [Status.STOPPED]: 'stopped',
  [Status.PAUSED]: 'paused',
  [Status.PAUSING]: 'pausing',
}

export function processStatus(status: Status | undefined): ProcessStatus {
  return (status !== undefined && STATUS_NAMES[status]) || 'unknown'
}
