import {describe, expect, it} from 'vitest'

import {sleep} from '../../src/lib/sleep'

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const t0 = Date.now()
    await sleep(30)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25)
  })

  it('rejects at once with the abort reason', async () => {
    const controller = new AbortController()
    const t0 = Date.now()
    const pending = sleep(10_000, controller.signal)
    setTimeout(() => controller.abort(new Error('stop')), 10)
    await expect(pending).rejects.toThrow('stop')
    expect(Date.now() - t0).toBeLessThan(1000)
  })
})
