import {describe, expect, it} from 'vitest'

import {HeldUntilStarted} from '../../../src/lib/tasks/held-until-started'

describe('HeldUntilStarted', () => {
  it('holds signals until release, then delivers them in order and later ones at once', async () => {
    const delivered: number[] = []
    const held = new HeldUntilStarted<number>(async (signal) => void delivered.push(signal))
    held.push(2)
    held.push(15)
    expect(delivered).toEqual([])
    await held.release()
    expect(delivered).toEqual([2, 15])
    held.push(9)
    expect(delivered).toEqual([2, 15, 9])
  })

  it("keep: 'first' holds only the first", async () => {
    const delivered: string[] = []
    const held = new HeldUntilStarted<string>((signal) => delivered.push(signal), 'first')
    held.push('SIGINT')
    held.push('SIGTERM')
    await held.release()
    expect(delivered).toEqual(['SIGINT'])
  })
})
