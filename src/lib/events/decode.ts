/**
 * containerd's events (an Envelope whose `event` is an Any) as ctr's domain events: a short kind, the ID,
 * exec ID, PID and status columns, and the decoded payload. The daemon names payload types by bare type name
 * (`containerd.events.TaskExit`), which is what the table below is keyed by.
 */
import type {MessageType} from '../containerd/client'
import {ContainerCreate, ContainerDelete, ContainerUpdate} from '../../gen/containerd/events/container'
import {ContentDelete} from '../../gen/containerd/events/content'
import {ImageCreate, ImageDelete, ImageUpdate} from '../../gen/containerd/events/image'
import {NamespaceCreate, NamespaceDelete, NamespaceUpdate} from '../../gen/containerd/events/namespace'
import {SnapshotCommit, SnapshotPrepare, SnapshotRemove} from '../../gen/containerd/events/snapshot'
import {
  TaskCheckpointed,
  TaskCreate,
  TaskDelete,
  TaskExecAdded,
  TaskExecStarted,
  TaskExit,
  TaskOOM,
  TaskPaused,
  TaskResumed,
  TaskStart,
} from '../../gen/containerd/events/task'
import type {Envelope} from '../../gen/containerd/services/events/v1/events'

/** One event as ctr shows it. `type` is the short kind (`start`, `exit`, `container-create`, ...). */
export interface CtrEvent {
  timestamp: Date
  namespace: string
  topic: string
  type: string
  /** The container (task and container events), image or namespace name, snapshot key or content digest. */
  id?: string
  /** Set for events about an exec process rather than the container's init process. */
  execId?: string
  pid?: number
  /** Exit status (exit and delete events). */
  status?: number
  /** The decoded event message (proto field names in camelCase); absent for types this ctr does not know. */
  payload?: Record<string, unknown>
  /** The Any's type URL, kept for unknown types. */
  typeUrl?: string
}

/** Message types by the type name after the last '/' of the Any's type URL (the daemon sends bare names). */
const PAYLOAD_TYPES: Record<string, MessageType<object>> = {
  'containerd.events.TaskCreate': TaskCreate,
  'containerd.events.TaskStart': TaskStart,
  'containerd.events.TaskExit': TaskExit,
  'containerd.events.TaskDelete': TaskDelete,
  'containerd.events.TaskExecAdded': TaskExecAdded,
  'containerd.events.TaskExecStarted': TaskExecStarted,
  'containerd.events.TaskOOM': TaskOOM,
  'containerd.events.TaskPaused': TaskPaused,
  'containerd.events.TaskResumed': TaskResumed,
  'containerd.events.TaskCheckpointed': TaskCheckpointed,
  'containerd.events.ContainerCreate': ContainerCreate,
  'containerd.events.ContainerUpdate': ContainerUpdate,
  'containerd.events.ContainerDelete': ContainerDelete,
  'containerd.events.ImageCreate': ImageCreate,
  'containerd.events.ImageUpdate': ImageUpdate,
  'containerd.events.ImageDelete': ImageDelete,
  'containerd.events.NamespaceCreate': NamespaceCreate,
  'containerd.events.NamespaceUpdate': NamespaceUpdate,
  'containerd.events.NamespaceDelete': NamespaceDelete,
  'containerd.events.SnapshotPrepare': SnapshotPrepare,
  'containerd.events.SnapshotCommit': SnapshotCommit,
  'containerd.events.SnapshotRemove': SnapshotRemove,
  'containerd.events.ContentDelete': ContentDelete,
}

/** Topic prefixes → short-kind prefixes: `/tasks/exit` → `exit`, `/containers/create` → `container-create`. */
const TOPIC_KINDS: Record<string, string> = {
  tasks: '',
  containers: 'container-',
  images: 'image-',
  namespaces: 'namespace-',
  snapshot: 'snapshot-',
  content: 'content-',
}

/** The short kind for a topic; unknown topics are shown as they are. */
export function eventType(topic: string): string {
  const m = /^\/([a-z]+)\/([a-z-]+)$/.exec(topic)
  if (!m || !(m[1] in TOPIC_KINDS)) return topic
  return TOPIC_KINDS[m[1]] + m[2]
}

/** Envelope → CtrEvent. Never throws: an unknown or undecodable payload still yields topic and namespace. */
export function decodeEnvelope(envelope: Envelope): CtrEvent {
  const event: CtrEvent = {
    timestamp: envelope.timestamp ?? new Date(),
    namespace: envelope.namespace,
    topic: envelope.topic,
    type: eventType(envelope.topic),
  }
  const any = envelope.event
  if (!any) return event
  const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1)
  const messageType = PAYLOAD_TYPES[typeName]
  let payload: Record<string, unknown>
  try {
    if (!messageType) throw new Error('unknown type')
    payload = messageType.decode(any.value) as Record<string, unknown>
  } catch {
    event.typeUrl = any.typeUrl
    return event
  }
  event.payload = payload
  Object.assign(event, summarize(typeName, payload))
  return event
}

/** The ID, exec ID, PID and status columns from a decoded payload. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one reader for every event type's fields, each checked with typeof before use
function summarize(typeName: string, p: Record<string, any>): Partial<CtrEvent> {
  const out: Partial<CtrEvent> = {}
  if (typeof p.containerId === 'string' && p.containerId) {
    out.id = p.containerId
    // TaskExit.id / TaskDelete.id name the process: the container ID (or '') for init, else the exec ID.
    const execId = p.execId || (p.id && p.id !== p.containerId ? p.id : undefined)
    if (execId) out.execId = execId
  } else {
    const id = p.id ?? p.name ?? p.key ?? p.digest
    if (typeof id === 'string' && id) out.id = id
  }
  if (typeof p.pid === 'number' && p.pid > 0) out.pid = p.pid
  if (typeName === 'containerd.events.TaskExit' || typeName === 'containerd.events.TaskDelete') {
    if (typeof p.exitStatus === 'number') out.status = p.exitStatus
  }
  return out
}
