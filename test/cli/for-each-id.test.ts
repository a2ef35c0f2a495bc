import {describe, expect, it} from 'vitest'

import {EACH_CONCURRENCY, forEachId, worstExitCode} from '../../src/cli/for-each-id'
import {CtrError} from '../../src/lib/containerd/errors'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** fn for forEachId that records how many calls overlap; each ID's delay is its own (ms). */
function recorder(delays: Record<string, number>, fail: Record<string, CtrError> = {}) {
  const state = {inFlight: 0, most: 0, calls: [] as string[]}
  const fn = async (id: string) => {
    state.calls.push(id)
    state.inFlight++
    state.most = Math.max(state.most, state.inFlight)
    try {
      await sleep(delays[id] ?? 5)
      if (fail[id]) throw fail[id]
      return id.toUpperCase()
    } finally {
      state.inFlight--
    }
  }
  return {state, fn}
}

describe('forEachId', () => {
  it('runs the calls concurrently, no more than the bound at once', async () => {
    const ids = Array.from({length: 20}, (_, i) => `c${i}`)
    const {state, fn} = recorder(Object.fromEntries(ids.map((id) => [id, 20])))
    const began = Date.now()
    const {results} = await forEachId(ids, fn)
    expect(results).toEqual(ids.map((id) => id.toUpperCase()))
    expect(state.most).toBe(EACH_CONCURRENCY)
    // In turn this would take 20 × 20 ms.
    expect(Date.now() - began).toBeLessThan(20 * 20)
    const limited = recorder({})
    await forEachId(ids, limited.fn, {concurrency: 3})
    expect(limited.state.most).toBe(3)
  })

  it('hands results over in argument order, whichever finishes first, each as soon as those before it are done', async () => {
    const {fn} = recorder({a: 60, b: 5, c: 30, d: 5})
    const seen: Array<[string, string, number]> = []
    const began = Date.now()
    await forEachId(['a', 'b', 'c', 'd'], fn, {onResult: (result, id) => seen.push([id, result, Date.now() - began])})
    expect(seen.map(([id, result]) => [id, result])).toEqual([
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
      ['d', 'D'],
    ])
    // b, c and d were done before a: all four come out together, once a is.
    expect(seen[3][2] - seen[0][2]).toBeLessThan(20)
  })

  it('acts on a duplicate once, keeps going past failures and lists them in argument order', async () => {
    const missing = new CtrError('not-found', 'container "x" not found')
    const odd = new CtrError('internal', 'odd', {exitCode: 127})
    const {state, fn} = recorder({x: 30, y: 1}, {x: missing, y: odd})
    const {results, failures} = await forEachId(['a', 'x', 'a', 'b', 'y', 'b'], fn)
    expect(state.calls.sort()).toEqual(['a', 'b', 'x', 'y'])
    expect(results).toEqual(['A', 'B'])
    expect(failures).toEqual([
      {id: 'x', error: missing},
      {id: 'y', error: odd},
    ])
    expect(worstExitCode(failures)).toBe(127)
    expect(worstExitCode([])).toBe(0)
  })

  it('a plain Error becomes one internal line', async () => {
    const {failures} = await forEachId(['a'], async () => {
      throw new Error('first\nsecond')
    })
    expect(failures[0].error).toMatchObject({kind: 'internal', message: 'first', exitCode: 125})
  })

  it('an interrupt stops the whole run: nothing new starts, the calls in flight finish, what was done is still handed over', async () => {
    const controller = new AbortController()
    const ids = Array.from({length: 20}, (_, i) => `c${i}`)
    const started: string[] = []
    const seen: string[] = []
    const run = forEachId(
      ids,
      async (id) => {
        started.push(id)
        if (id === 'c2') {
          await sleep(10)
          controller.abort(new CtrError('cancelled', 'interrupted'))
          throw new CtrError('cancelled', 'interrupted')
        }
        await sleep(id === 'c0' ? 40 : 20)
        return id
      },
      {concurrency: 4, signal: controller.signal, onResult: (id) => seen.push(id)},
    )
    await expect(run).rejects.toMatchObject({kind: 'cancelled'})
    // c2 fails while the first four are in flight: nothing after them starts; c0 finishes last but first.
    expect(started).toEqual(['c0', 'c1', 'c2', 'c3'])
    expect(seen).toEqual(['c0', 'c1', 'c3'])
  })

  it('an already aborted signal starts nothing', async () => {
    const controller = new AbortController()
    controller.abort(new CtrError('deadline-exceeded', '--timeout 1s reached', {exitCode: 124}))
    const {state, fn} = recorder({})
    await expect(forEachId(['a', 'b'], fn, {signal: controller.signal})).rejects.toMatchObject({exitCode: 124})
    expect(state.calls).toEqual([])
  })
})
