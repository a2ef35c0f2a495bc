import {describe, expect, it} from 'vitest'

import {latestOnly} from '../../../src/lib/tasks/attach'

/** A task whose runs finish only when the test says so, recording what each run read when it began. */
function gatedTask(read: () => number) {
  const runs: Array<{value: number; finish: () => void}> = []
  const task = () => new Promise<void>((resolve) => runs.push({value: read(), finish: resolve}))
  return {runs, task}
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('latestOnly (how ResizePty calls are sent)', () => {
  it('never runs the task twice at once, and runs it once more after calls made meanwhile (the last value wins)', async () => {
    let size = 1
    const {runs, task} = gatedTask(() => size)
    const resize = latestOnly(task)
    const first = resize()
    size = 2
    const second = resize()
    size = 3
    const third = resize()
    await tick()
    expect(runs.map((r) => r.value)).toEqual([1])
    runs[0].finish()
    await first
    await tick()
    // The two calls made during the first run collapse into one run, which reads the newest value.
    expect(runs.map((r) => r.value)).toEqual([1, 3])
    runs[1].finish()
    await Promise.all([second, third])
    expect(runs).toHaveLength(2)
  })

  it('keeps going after a failed run', async () => {
    let calls = 0
    const resize = latestOnly(async () => {
      calls++
      if (calls === 1) throw new Error('the process is gone')
    })
    // The failure is swallowed (a resize of a process that is gone is no error of ctr's), and the call made
    // during the failed run still runs after it.
    await expect(Promise.all([resize(), resize()])).resolves.toEqual([undefined, undefined])
    expect(calls).toBe(2)
    await resize()
    expect(calls).toBe(3)
  })
})
