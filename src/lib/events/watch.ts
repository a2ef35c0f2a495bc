/**
 * A watch loop over containerd's event stream that survives daemon restarts. Facts this relies on (checked
 * against containerd 1.6.20):
 * - Subscribe sends no response headers until the first event: nothing confirms a subscription. A unary
 *   Version call with a deadline before each Subscribe proves the daemon answers, and a periodic one while the
 *   stream is idle notices a daemon that stopped answering without closing the socket.
 * - A bad filter fails the stream at once (UNKNOWN "failed parsing subscription filters"): never retried.
 * - Events are best effort, never replayed: a re-subscription leaves a gap, reported through onStatus.
 */
import {type BackoffOptions, DEFAULT_BACKOFF} from '../backoff'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'
import {Retrier} from '../retry'
import {EventsDefinition} from '../../gen/containerd/services/events/v1/events'
import {VersionDefinition} from '../../gen/containerd/services/version/v1/version'
import {type CtrEvent, decodeEnvelope} from './decode'

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
  const retrier = new Retrier({
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    signal: options.signal,
    onRetry: ({error, attempt, delayMs}) => options.onStatus?.({kind: 'retrying', attempt, delayMs, reason: reasonOf(error)}),
  })
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
      if (!everConnected || !reconnect || !isStreamBreak(error)) throw error
      await retrier.failed(error)
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
        ? setInterval(
            () => {
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
            },
            Math.min(heartbeatMs, 1000),
          )
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
        retrier.succeeded()
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
    // The wait before re-subscribing is reported as the loss (above), not as a retry.
    await retrier.failed(new CtrError('unavailable', reason), () => undefined)
  }
}

/** The daemon's refusal of a filter (the only argument Subscribe takes), as a usage error in our words (its detail kept). */
function filterError(error: unknown): unknown {
  if (!(error instanceof CtrError) || error.kind !== 'invalid-argument') return error
  const detail = error.message.replace(/^.*?failed parsing subscription filters: (?:filters: )?/, '').replace(/: invalid argument$/, '')
  return optionError('usage', (o) => `invalid ${o('filter')}: ${detail}`, {cause: error})
}

/** Errors that mean "the connection or daemon went away", as opposed to "the request was wrong". */
function isStreamBreak(error: unknown): boolean {
  if (!(error instanceof CtrError)) return false
  return error.kind === 'unavailable' || error.kind === 'deadline-exceeded' || error.kind === 'cancelled' || error.kind === 'internal'
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^cannot connect to containerd at \S+: /, '')
}
