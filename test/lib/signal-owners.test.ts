import {describe, expect, it} from 'vitest'

import {takeSignals} from '../../src/lib/signal-owners'

describe('takeSignals', () => {
  it('gives a signal to the newest owner only, and back to the one below once released', () => {
    const seen: string[] = []
    const before = process.listenerCount('SIGUSR2')
    const releaseBase = takeSignals(['SIGUSR2'], (signal) => seen.push(`base ${signal}`))
    const releaseTop = takeSignals(['SIGUSR2'], (signal) => seen.push(`top ${signal}`))
    process.emit('SIGUSR2', 'SIGUSR2')
    releaseTop()
    releaseTop() // idempotent: the base stays
    process.emit('SIGUSR2', 'SIGUSR2')
    releaseBase()
    expect(seen).toEqual(['top SIGUSR2', 'base SIGUSR2'])
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it('an owner can hand a signal on to the owner below it, also after it has released (a held signal)', () => {
    const seen: string[] = []
    const releaseBase = takeSignals(['SIGUSR2'], (signal) => seen.push(`base ${signal}`))
    let handOn: (() => void) | undefined
    const releaseTop = takeSignals(['SIGUSR2'], (signal, below) => (handOn = () => below(signal)))
    process.emit('SIGUSR2', 'SIGUSR2')
    expect(seen).toEqual([])
    releaseTop()
    handOn!()
    releaseBase()
    expect(seen).toEqual(['base SIGUSR2'])
  })
})
