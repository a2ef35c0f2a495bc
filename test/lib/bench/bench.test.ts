/** The benchmark runner with a scripted start and clean-up: concurrency, IDs, failure and Ctrl-C paths. */
import {describe, expect, it} from 'vitest'

import {runBench} from '../../../src/lib/bench/bench'
import {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'

const client = new ContainerdClient({address: '/nonexistent/never-called.sock'})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function recorder(options: {delayMs?: number; failOn?: string} = {}) {
  const started: string[] = []
  const cleaned: string[] = []
  let running = 0
  let peak = 0
  return {
    started,
    cleaned,
    peak: () => peak,
    start: async (id: string) => {
      started.push(id)
      running++
      peak = Math.max(peak, running)
      await sleep(options.delayMs ?? 2)
      running--
      if (id === options.failOn) throw new CtrError('not-found', `cannot start container "${id}": "nope": executable file not found`, {exitCode: 127})
    },
    cleanup: async (id: string) => {
      cleaned.push(id)
    },
  }
}

describe('runBench', () => {
  it('starts count containers with unique prefixed IDs, at most concurrency at a time, and cleans up all', async () => {
    const r = recorder({delayMs: 5})
    const progress: number[] = []
    const result = await runBench(client, {
      bundle: 'b',
      count: 20,
      concurrency: 4,
      prefix: 'p',
      start: r.start,
      cleanup: r.cleanup,
      onProgress: (done) => progress.push(done),
    })
    expect(r.started).toHaveLength(20)
    expect(new Set(r.started).size).toBe(20)
    expect(r.started.every((id) => /^p-\d+$/.test(id))).toBe(true)
    expect(r.peak()).toBe(4)
    expect([...r.cleaned].sort()).toEqual([...r.started].sort())
    expect(progress).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    expect(result).toMatchObject({prefix: 'p', requested: 20, concurrency: 4, interrupted: false, cleanedUp: 20})
    expect(result.startMs.count).toBe(20)
    expect(result.startMs.min).toBeGreaterThanOrEqual(4)
    expect(result.startMs.rate).toBeGreaterThan(0)
  })

  it('makes a random prefix when none is given', async () => {
    const r = recorder()
    const result = await runBench(client, {bundle: 'b', count: 2, concurrency: 1, start: r.start, cleanup: r.cleanup})
    expect(result.prefix).toMatch(/^bench-[0-9a-f]{6}$/)
    expect(r.started).toEqual([`${result.prefix}-1`, `${result.prefix}-2`])
  })

  it('on a failed start: stops launching, cleans up everything attempted, and fails with 125', async () => {
    const r = recorder({failOn: 'p-3'})
    const error = await runBench(client, {bundle: 'b', count: 50, concurrency: 2, prefix: 'p', start: r.start, cleanup: r.cleanup}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).exitCode).toBe(125)
    expect((error as CtrError).message).toMatch(/p-3/)
    expect(r.started.length).toBeLessThan(10)
    expect([...r.cleaned].sort()).toEqual([...r.started].sort())
  })

  it('on stop (Ctrl-C): launches no more, lets the starts under way finish, cleans up, reports interrupted', async () => {
    const r = recorder({delayMs: 10})
    const stop = new AbortController()
    setTimeout(() => stop.abort(), 35)
    const result = await runBench(client, {bundle: 'b', count: 1000, concurrency: 3, prefix: 'p', stop: stop.signal, start: r.start, cleanup: r.cleanup})
    expect(result.interrupted).toBe(true)
    expect(result.startMs.count).toBe(r.started.length)
    expect(r.started.length).toBeGreaterThan(0)
    expect(r.started.length).toBeLessThan(100)
    expect([...r.cleaned].sort()).toEqual([...r.started].sort())
  })

  it('reports clean-up failures after trying every container', async () => {
    const r = recorder()
    const cleaned: string[] = []
    const error = await runBench(client, {
      bundle: 'b',
      count: 4,
      concurrency: 2,
      prefix: 'p',
      start: r.start,
      cleanup: async (id) => {
        cleaned.push(id)
        if (id === 'p-2') throw new Error('daemon said no')
      },
    }).catch((e: unknown) => e)
    expect(cleaned.sort()).toEqual(['p-1', 'p-2', 'p-3', 'p-4'])
    expect((error as CtrError).message).toMatch(/could not remove 1 benchmark container\(s\) \(p-2\): daemon said no/)
  })

  it('refuses bad counts, concurrency and prefixes before starting anything', async () => {
    const r = recorder()
    const run = (o: object) =>
      runBench(client, {bundle: 'b', count: 1, concurrency: 1, start: r.start, cleanup: r.cleanup, ...o}).then(
        () => new CtrError('internal', 'no error'),
        (e: unknown) => e as CtrError,
      )
    expect((await run({count: 0})).kind).toBe('usage')
    expect((await run({concurrency: 1.5})).kind).toBe('usage')
    expect((await run({prefix: 'bad id'})).message).toMatch(/--prefix "bad id"/)
    expect((await run({prefix: 'x'.repeat(80)})).kind).toBe('usage')
    expect(r.started).toEqual([])
  })
})
