/**
 * Streaming events until the --exit-on container's init process exits. Events are best effort and never
 * replayed, so the exit is also read from the task's state (Tasks.Get), which always has it.
 */
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {Status} from '../../gen/containerd/types/task/task'
import type {CtrEvent} from './decode'
import {buildFilters, type FilterOptions, quote} from './filters'
import {watchEvents, type WatchOptions} from './watch'

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
    const exitFilter = buildFilters({
      namespace: options.namespace,
      filters: [`topic=="/tasks/exit",event.container_id==${quote(exitOn)},event.id==${quote(exitOn)}`],
    })
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
