import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {BackoffOptions} from '../../src/lib/backoff'
import {retry, Retrier} from '../../src/lib/retry'

const doubling: BackoffOptions = {initialMs: 100, maxMs: 1000, factor: 2, jitter: 'none'}

/** An attempt that fails with the given errors, then resolves 'ok'; records when (fake ms) each attempt ran. */
function scripted(failures: unknown[]) {
  const at: number[] = []
  const t0 = Date.now()
  const attempt = async () => {
    at.push(Date.now() - t0)
    if (at.length <= failures.length) throw failures[at.length - 1]
    return 'ok'
  }
  return {attempt, at}
}

describe('retry', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('waits the back-off between attempts and resolves with the first success', async () => {
    const {attempt, at} = scripted([new Error('a'), new Error('b'), new Error('c')])
    const retries: Array<[number, number]> = []
    const result = retry(attempt, {backoff: doubling, onRetry: (r) => retries.push([r.attempt, r.delayMs])})
    await vi.runAllTimersAsync()
    await expect(result).resolves.toBe('ok')
    expect(at).toEqual([0, 100, 300, 700])
    expect(retries).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ])
  })

  it('throws a failure the policy does not retry, at once', async () => {
    const fatal = new Error('fatal')
    const {attempt, at} = scripted([new Error('transient'), fatal])
    const result = retry(attempt, {backoff: doubling, retryable: (e) => e !== fatal})
    result.catch(() => undefined)
    await vi.runAllTimersAsync()
    await expect(result).rejects.toBe(fatal)
    expect(at).toEqual([0, 100])
  })

  it('gives up with the last failure rather than wait past withinMs', async () => {
    const errors = Array.from({length: 10}, (_, i) => new Error(`e${i}`))
    const {attempt, at} = scripted(errors)
    const result = retry(attempt, {backoff: doubling, withinMs: 500})
    result.catch(() => undefined)
    await vi.runAllTimersAsync()
    // 0, 100, 300; the next wait (400 ms) would end at 700 > 500.
    await expect(result).rejects.toBe(errors[2])
    expect(at).toEqual([0, 100, 300])
  })

  it('an abort ends the wait at once with its reason, and no attempt follows', async () => {
    const {attempt, at} = scripted(Array.from({length: 10}, () => new Error('down')))
    const abort = new AbortController()
    const result = retry(attempt, {backoff: {...doubling, initialMs: 10_000, maxMs: 10_000}, signal: abort.signal})
    result.catch(() => undefined)
    await vi.advanceTimersByTimeAsync(50)
    abort.abort(new Error('interrupted'))
    await expect(result).rejects.toThrow('interrupted')
    await vi.runAllTimersAsync()
    expect(at).toEqual([0])
  })

  it('a failure after an abort is thrown as it is, without waiting', async () => {
    const abort = new AbortController()
    abort.abort(new Error('interrupted'))
    const failure = new Error('cancelled call')
    await expect(retry(() => Promise.reject(failure), {signal: abort.signal})).rejects.toBe(failure)
  })
})

describe('Retrier', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('succeeded() starts a new outage: the smallest delay and a fresh withinMs', async () => {
    const retrier = new Retrier({backoff: doubling, withinMs: 350})
    const waits: number[] = []
    const fail = async () => {
      const t0 = Date.now()
      const waiting = retrier.failed(new Error('down'))
      await vi.runAllTimersAsync()
      await waiting
      waits.push(Date.now() - t0)
    }
    await fail()
    await fail()
    expect(waits).toEqual([100, 200])
    // A third wait (400 ms) would pass withinMs.
    const third = retrier.failed(new Error('still down'))
    await expect(third).rejects.toThrow('still down')
    await vi.advanceTimersByTimeAsync(10_000) // a long healthy stretch
    retrier.succeeded()
    expect(retrier.attempts).toBe(0)
    await fail()
    expect(waits).toEqual([100, 200, 100])
    expect(retrier.remainingMs()).toBe(250)
  })
})
