/**
 * `ctr bench`: how fast the daemon starts containers, the seed's benchmark (containerd 0.0.4 README,
 * "Performance"). N containers from one bundle, C at a time over the caller's one client; each start is
 * timed from Containers.Create to Tasks.Start's answer (the process runs). Every container the run made
 * is removed afterwards (kill, delete task, delete container), also after a failure or an interruption.
 */
import {randomHex} from '../random-id'

import type {ContainerdClient} from '../containerd/client'
import {CtrError, EXIT, usageError} from '../containerd/errors'
import {checkContainerId, deleteContainer} from '../containers/containers'
import {retry} from '../retry'
import {startContainer} from '../tasks/start'
import {type StatsSummary, summarize} from './stats-summary'

/** Starts one container (detached) and resolves once its process runs. */
export type StartFn = (id: string) => Promise<void>
/** Removes one container and its task; a container that is not there is fine. */
export type CleanupFn = (id: string) => Promise<void>

export interface BenchOptions {
  bundle: string
  count: number
  concurrency: number
  /** ID prefix; IDs are `<prefix>-<n>`. Default `bench-<6 hex digits>`. */
  prefix?: string
  /** Stops launching (Ctrl-C): starts under way finish, then everything made is cleaned up. */
  stop?: AbortSignal
  /** After each start: how many have finished (ok or not) of how many. */
  onProgress?: (done: number, total: number) => void
  /** Replace the real start and clean-up (tests). */
  start?: StartFn
  cleanup?: CleanupFn
}

export interface BenchResult {
  bundle: string
  prefix: string
  concurrency: number
  /** Containers asked for. */
  requested: number
  /** True when stopped early (Ctrl-C); the statistics cover the starts that finished. */
  interrupted: boolean
  /** From the first launch to the last start's end. */
  elapsedMs: number
  /** Start times in ms (count, min, ..., 99.9%) and the rate in containers per second. */
  startMs: StatsSummary
  /** How many containers were removed afterwards. */
  cleanedUp: number
}

/** A label on every benchmark container, so a leftover (ctr killed with SIGKILL) can be found: -f label=ctr.bench */
export const BENCH_LABEL = 'ctr.bench'

export async function runBench(client: ContainerdClient, options: BenchOptions): Promise<BenchResult> {
  const {count, bundle} = options
  if (!Number.isInteger(count) || count < 1) throw usageError(`--count must be a whole number of at least 1 (got ${count})`)
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw usageError(`--concurrency must be a whole number of at least 1 (got ${options.concurrency})`)
  }
  const prefix = options.prefix ?? `bench-${randomHex(3)}`
  try {
    checkContainerId(`${prefix}-${count}`)
  } catch (error) {
    throw usageError(`--prefix ${JSON.stringify(prefix)} does not make valid container IDs: ${(error as Error).message}`)
  }
  const concurrency = Math.min(options.concurrency, count)
  const start: StartFn =
    options.start ??
    (async (id) => {
      await startContainer(client, {id, bundle, labels: {[BENCH_LABEL]: prefix}})
    })
  const cleanup: CleanupFn =
    options.cleanup ??
    (async (id) => {
      await deleteContainer(client, id, {force: true}).catch((error) => {
        if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
      })
    })

  const durations: number[] = []
  /** Every ID a start was attempted for: startContainer rolls a failed start back, but a start cut off
   * half-way (daemon gone, deadline) may have left something, so clean-up looks at all of them. */
  const attempted: string[] = []
  let next = 0
  let done = 0
  let failure: unknown
  const began = performance.now()
  let ended = began

  const worker = async () => {
    while (next < count && failure === undefined && !options.stop?.aborted) {
      const id = `${prefix}-${++next}`
      attempted.push(id)
      const t0 = performance.now()
      try {
        await start(id)
        const t1 = performance.now()
        durations.push(t1 - t0)
        ended = t1
      } catch (error) {
        failure ??= error
      }
      options.onProgress?.(++done, count)
    }
  }
  await Promise.all(Array.from({length: concurrency}, worker))

  // containerd gone (killed, restarting): try those again once it answers, for a bounded time.
  let cleanupErrors: CleanupErrors = []
  let ids: readonly string[] = attempted
  await retry(
    async () => {
      cleanupErrors = await cleanUp(ids, concurrency, cleanup)
      ids = cleanupErrors.map((e) => e.id)
      if (cleanupErrors.some((e) => e.unavailable)) throw cleanupErrors
    },
    {backoff: {initialMs: 250, maxMs: 250, factor: 1, jitter: 'none'}, withinMs: client.timeoutMs || 10_000},
  ).catch(() => undefined)
  const notRemoved =
    cleanupErrors.length === 0
      ? ''
      : `; could not remove ${cleanupErrors.length} benchmark container(s) (${cleanupErrors.map((e) => e.id).join(', ')}): ${cleanupErrors[0].message}; ` +
        `remove them with: ctr containers -q --filter label=${BENCH_LABEL}=${prefix} | xargs -r ctr containers delete --force`
  // A start that fails is ctr's failure here (125), even when runc's reason maps to 126/127 for `start -a`.
  if (failure instanceof CtrError && (notRemoved || (failure.exitCode !== EXIT.failure && failure.kind !== 'cancelled'))) {
    throw new CtrError(failure.kind, failure.message + notRemoved, {cause: failure, exitCode: failure.kind === 'cancelled' ? failure.exitCode : EXIT.failure})
  }
  if (failure !== undefined) throw failure
  if (notRemoved) throw new CtrError('internal', notRemoved.slice(2))
  const elapsedMs = ended - began
  return {
    bundle,
    prefix,
    concurrency,
    requested: count,
    interrupted: Boolean(options.stop?.aborted) && durations.length < count,
    elapsedMs,
    startMs: summarize(durations, elapsedMs),
    cleanedUp: attempted.length,
  }
}

/** Removes every container, `concurrency` at a time; returns the failures (each already tried once). */
type CleanupErrors = Array<{id: string; message: string; unavailable: boolean}>

async function cleanUp(ids: readonly string[], concurrency: number, cleanup: CleanupFn): Promise<CleanupErrors> {
  const errors: CleanupErrors = []
  let next = 0
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]
      try {
        await cleanup(id)
      } catch (error) {
        errors.push({
          id,
          message: error instanceof Error ? error.message : String(error),
          unavailable: error instanceof CtrError && error.kind === 'unavailable',
        })
      }
    }
  }
  await Promise.all(Array.from({length: concurrency}, worker))
  return errors
}
