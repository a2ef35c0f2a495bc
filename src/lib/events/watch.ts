/**
 * containerd's event stream as domain events, and a watch loop that survives daemon restarts.
 *
 * Facts this relies on (checked against containerd 1.6.20):
 * - Subscribe ignores the namespace header and streams every namespace, so a `namespace=="<ns>"` selector is
 *   added to every filter unless all namespaces are asked for.
 * - Filters: `field==v`, `!=`, `~=` (regex); comma = AND; several strings = OR. Fields are `topic`,
 *   `namespace` and `event.<proto_field_name>`: `event.container_id` matches task events, `event.id` matches
 *   container events and /tasks/exit (whose `id` is the process: the container ID for init, else the exec ID).
 *   Only string fields match: `event.exit_status==137` and `event.pid==1` silently match nothing.
 * - A syntax error fails the stream at once (UNKNOWN "failed parsing subscription filters"); a malformed regex
 *   gives no error and no events, so regexes are checked here first.
 * - Subscribe sends no response headers until the first event: nothing confirms a subscription. A unary
 *   Version call with a deadline before each Subscribe proves the daemon answers, and a periodic one while the
 *   stream is idle notices a daemon that stopped answering without closing the socket.
 * - Events are best effort, never replayed: exit codes come from Tasks.Wait/Get, events only announce them.
 */
import {Backoff, type BackoffOptions, DEFAULT_BACKOFF} from '../backoff'
import {sleep} from '../sleep'
import type {ContainerdClient, MessageType} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
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
import {type Envelope, EventsDefinition} from '../../gen/containerd/services/events/v1/events'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {VersionDefinition} from '../../gen/containerd/services/version/v1/version'
import {Status} from '../../gen/containerd/types/task/task'

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
const PAYLOAD_TYPES: Record<string, MessageType<any>> = {
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
  let payload: Record<string, any>
  try {
    if (!messageType) throw new Error('unknown type')
    payload = messageType.decode(any.value)
  } catch {
    event.typeUrl = any.typeUrl
    return event
  }
  event.payload = payload
  Object.assign(event, summarize(typeName, payload))
  return event
}

/** The ID, exec ID, PID and status columns from a decoded payload. */
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

// -- filters --------------------------------------------------------------------------------------------

export interface FilterOptions {
  namespace: string
  /** Do not restrict to `namespace`. */
  allNamespaces?: boolean
  /** containerd filters as typed by the user; several = OR. */
  filters?: readonly string[]
  /** Only events about this container (task or container events). */
  id?: string
}

/** A Go-syntax quoted string for a filter value (IDs and namespaces never need more than JSON escaping). */
const quote = (value: string) => JSON.stringify(value)

/**
 * The filter strings to send: each user filter (OR) ANDed with the namespace and the --id selectors. --id needs
 * two alternatives because task events carry `container_id` and container events `id`.
 */
export function buildFilters(options: FilterOptions): string[] {
  const user = (options.filters ?? []).map((f) => f.trim()).filter((f) => f.length > 0)
  for (const f of user) checkFilter(f)
  const base: string[] = options.allNamespaces ? [] : [`namespace==${quote(options.namespace)}`]
  const idSelectors = options.id ? [`event.container_id==${quote(options.id)}`, `event.id==${quote(options.id)}`] : [undefined]
  const userSelectors = user.length > 0 ? user : [undefined]
  const out: string[] = []
  for (const idSel of idSelectors) {
    for (const userSel of userSelectors) {
      const parts = [...base, idSel, userSel].filter((p): p is string => Boolean(p))
      // An empty filter matches everything, which is what "no parts" means.
      out.push(parts.join(','))
    }
  }
  return out.filter((f) => f.length > 0)
}

/**
 * Catches what the daemon would accept silently: a regex (`~=`) that cannot compile matches nothing on 1.6,
 * which looks like a hang. Go's RE2 and JavaScript agree on ordinary patterns; only clear failures are refused.
 */
export function checkFilter(filter: string): void {
  for (const selector of splitSelectors(filter)) {
    // A field path's parts may be quoted ("a b".c); only the operator and what follows matter here.
    const m = /^\s*((?:"(?:[^"\\]|\\.)*"|[^=!~\s"])+)\s*(==|!=|~=)\s*(.*?)\s*$/.exec(selector)
    if (!m) {
      if (!/^\s*(?:"(?:[^"\\]|\\.)*"|[\w.])+\s*$/.test(selector)) {
        throw usageError(`invalid --filter "${filter}": expected field==value, field!=value or field~=regex`)
      }
      continue
    }
    if (m[2] !== '~=') continue
    let pattern = m[3]
    if (pattern.startsWith('"')) {
      try {
        pattern = JSON.parse(pattern)
      } catch {
        continue // Go quoting JSON cannot read: leave it to the daemon
      }
    } else if (/^[/|]/.test(pattern)) {
      pattern = pattern.slice(1, -1)
    }
    try {
      new RegExp(pattern)
    } catch (error) {
      throw usageError(`invalid --filter "${filter}": bad regular expression ${JSON.stringify(pattern)} (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`)
    }
  }
}

/** Splits on commas outside quotes. */
function splitSelectors(filter: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoteChar: string | undefined
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]
    if (quoteChar) {
      if (c === '\\' && quoteChar === '"') {
        current += c + (filter[++i] ?? '')
        continue
      }
      if (c === quoteChar) quoteChar = undefined
    } else if (c === '"' || (c === '/' && /(==|!=|~=)\s*$/.test(current))) {
      quoteChar = c
    } else if (c === ',') {
      parts.push(current)
      current = ''
      continue
    }
    current += c
  }
  parts.push(current)
  return parts
}

// -- the watch loop -------------------------------------------------------------------------------------

export type WatchStatus =
  | {kind: 'lost'; reason: string; at: Date}
  | {kind: 'retrying'; attempt: number; delayMs: number; reason: string}
  | {kind: 'reconnected'; lostAt: Date; at: Date}

export interface WatchOptions {
  /** Filter strings as sent (see buildFilters). */
  filters: readonly string[]
  /** Re-subscribe after the stream breaks (default true). false: throw instead. */
  reconnect?: boolean
  backoff?: BackoffOptions
  /** Deadline for the Version probe before each Subscribe and the idle heartbeat (default: client's, else 10 s). */
  probeTimeoutMs?: number
  /** How often an idle stream checks that the daemon still answers (default 15 s; 0 = never). */
  heartbeatMs?: number
  signal?: AbortSignal
  /** Stream lost / retry scheduled / back again. */
  onStatus?: (status: WatchStatus) => void
  /** Called after every (re)subscription: where a caller closes the gap events cannot (e.g. Tasks.Get). */
  onSubscribed?: () => Promise<void> | void
}

const DEFAULT_HEARTBEAT_MS = 15_000

/**
 * Events until aborted. The first connection must succeed (a wrong address fails at once); after that a broken
 * stream (daemon restarted, socket gone, daemon not answering) is reported through onStatus and re-subscribed
 * with capped, jittered exponential back-off. Errors in the request (bad filter) are never retried.
 */
export async function* watchEvents(client: ContainerdClient, options: WatchOptions): AsyncGenerator<CtrEvent> {
  const reconnect = options.reconnect ?? true
  const backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF)
  const probeTimeoutMs = options.probeTimeoutMs ?? (client.timeoutMs || 10_000)
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  const signal = options.signal
  const version = client.service(VersionDefinition)
  let lostAt: Date | undefined
  let everConnected = false

  for (;;) {
    // Prove the daemon answers; Subscribe cannot (no headers until the first event).
    try {
      await version.version({}, {timeoutMs: probeTimeoutMs, signal})
    } catch (error) {
      if (signal?.aborted || !everConnected || !reconnect || !isStreamBreak(error)) throw error
      const delayMs = backoff.next()
      options.onStatus?.({kind: 'retrying', attempt: backoff.attempts, delayMs, reason: reasonOf(error)})
      await sleep(delayMs, signal)
      continue
    }
    if (lostAt) {
      options.onStatus?.({kind: 'reconnected', lostAt, at: new Date()})
      lostAt = undefined
    }
    everConnected = true

    const stream = new AbortController()
    const streamSignal = signal ? AbortSignal.any([signal, stream.signal]) : stream.signal
    let heartbeatFailure: unknown
    let lastActivity = Date.now()
    let probing = false
    const heartbeat =
      heartbeatMs > 0
        ? setInterval(() => {
            // Only a quiet stream needs proof of life; one probe at a time.
            if (probing || Date.now() - lastActivity < heartbeatMs) return
            probing = true
            version
              .version({}, {timeoutMs: probeTimeoutMs, signal: streamSignal})
              .then(
                () => (lastActivity = Date.now()),
                (error) => {
                  if (streamSignal.aborted) return
                  heartbeatFailure = error
                  stream.abort()
                },
              )
              .finally(() => (probing = false))
          }, Math.min(heartbeatMs, 1000))
        : undefined
    let reason: string
    const events = client.service(EventsDefinition).subscribe({filters: [...options.filters]}, {timeoutMs: null, signal: streamSignal})
    const iterator = events[Symbol.asyncIterator]()
    try {
      // next() sends the request synchronously, so a state check in onSubscribed overlaps the subscription
      // instead of preceding it (the daemon may still register it a moment later: callers poll as well).
      let pending = iterator.next()
      pending.catch(() => undefined) // awaited below; this only keeps Node from calling it unhandled meanwhile
      if (options.onSubscribed) await options.onSubscribed()
      for (;;) {
        const step = await pending
        if (step.done) break
        backoff.reset()
        lastActivity = Date.now()
        yield decodeEnvelope(step.value)
        pending = iterator.next()
        pending.catch(() => undefined)
      }
      reason = 'the daemon closed the stream'
    } catch (error) {
      if (signal?.aborted) throw error
      if (heartbeatFailure) reason = `daemon stopped answering: ${reasonOf(heartbeatFailure)}`
      else if (isStreamBreak(error)) reason = reasonOf(error)
      else throw filterError(error)
    } finally {
      if (heartbeat) clearInterval(heartbeat)
      stream.abort()
      iterator.return?.(undefined)?.catch(() => undefined)
    }

    if (!reconnect) throw new CtrError('unavailable', `event stream lost (${reason})`)
    lostAt = new Date()
    options.onStatus?.({kind: 'lost', reason, at: lostAt})
    const delayMs = backoff.next()
    await sleep(delayMs, signal)
  }
}

/** The daemon's parse error for a filter, as a usage error in our words (its detail kept). */
function filterError(error: unknown): unknown {
  const m = error instanceof CtrError ? /failed parsing subscription filters: (?:filters: )?(.*?)(?:: invalid argument)?$/.exec(error.message) : null
  return m ? new CtrError('usage', `invalid --filter: ${m[1]}`, {cause: error}) : error
}

/** Errors that mean "the connection or daemon went away", as opposed to "the request was wrong". */
function isStreamBreak(error: unknown): boolean {
  if (!(error instanceof CtrError)) return false
  if (/filter/i.test(error.message)) return false
  return error.kind === 'unavailable' || error.kind === 'deadline-exceeded' || error.kind === 'cancelled' || error.kind === 'internal'
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^cannot connect to containerd at \S+: /, '')
}

// -- waiting for an exit --------------------------------------------------------------------------------

export interface StreamEventsOptions extends Omit<WatchOptions, 'filters'>, FilterOptions {
  /** Stop when this container's init process exits; the result carries its exit status. */
  exitOn?: string
  /** How often to ask Tasks.Get whether the --exit-on container already stopped (default 2 s). */
  exitPollMs?: number
}

export interface StreamEventsResult {
  /** Events delivered. */
  count: number
  /** The --exit-on container's exit (status from the event, or from Tasks.Get if it stopped unseen). */
  exit?: {id: string; status: number; exitedAt?: Date; seen: 'event' | 'task-state'}
}

/**
 * Streams events to onEvent until aborted, or until the --exit-on container exits. An exit can fall between
 * two subscriptions (before the first one is registered, or while reconnecting), so after every subscription
 * and every exitPollMs the task's state is read too: a task already stopped ends the wait with its status.
 */
export async function streamEvents(client: ContainerdClient, options: StreamEventsOptions, onEvent: (event: CtrEvent) => void): Promise<StreamEventsResult> {
  const exitOn = options.exitOn
  const filters = buildFilters(options)
  if (exitOn) {
    // The exit must be seen even when the user's filters would hide it.
    const exitFilter = buildFilters({namespace: options.namespace, filters: [`topic=="/tasks/exit",event.container_id==${quote(exitOn)},event.id==${quote(exitOn)}`]})
    filters.push(...exitFilter)
  }
  const result: StreamEventsResult = {count: 0}
  const done = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal
  let poll: NodeJS.Timeout | undefined

  const onSubscribed = async () => {
    await options.onSubscribed?.()
    await checkTask()
  }
  const checkTask = async () => {
    if (!exitOn || result.exit) return
    const exit = await stoppedTask(client, exitOn, signal)
    if (exit && !result.exit) {
      result.exit = {...exit, seen: 'task-state'}
      done.abort()
    }
  }

  try {
    if (exitOn) {
      poll = setInterval(() => {
        checkTask().catch(() => undefined) // a daemon outage is the watch loop's to report
      }, options.exitPollMs ?? 2000)
    }
    for await (const event of watchEvents(client, {...options, filters, signal, onSubscribed})) {
      result.count++
      onEvent(event)
      if (exitOn && event.type === 'exit' && event.id === exitOn && !event.execId) {
        result.exit = {id: exitOn, status: event.status ?? 0, exitedAt: event.payload?.exitedAt as Date | undefined, seen: 'event'}
        break
      }
    }
  } catch (error) {
    if (!(result.exit && done.signal.aborted && !options.signal?.aborted)) throw error
  } finally {
    if (poll) clearInterval(poll)
  }
  return result
}

/** The container's init exit, if its task exists and has stopped; undefined while running or without a task. */
async function stoppedTask(client: ContainerdClient, id: string, signal: AbortSignal): Promise<{id: string; status: number; exitedAt?: Date} | undefined> {
  try {
    const {process} = await client.service(TasksDefinition).get({containerId: id}, {signal})
    if (process?.status !== Status.STOPPED) return undefined
    return {id, status: process.exitStatus, exitedAt: process.exitedAt}
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}
