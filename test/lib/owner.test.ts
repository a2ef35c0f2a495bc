import {describe, expect, it} from 'vitest'

import {ownerState, ownerToken} from '../../src/lib/owner'

describe('owner tokens', () => {
  it('this process is alive; its PID with another start time (a reused PID) is dead; another PID namespace or junk cannot be judged', () => {
    const token = ownerToken()
    expect(token).toMatch(/^\d+\.\d+\.\d+$/)
    const [ns, pid, start] = token.split('.')
    expect(ownerState(token)).toBe('alive')
    expect(ownerState(`${ns}.${pid}.${Number(start) + 1}`)).toBe('dead')
    expect(ownerState(`${ns}.999999999.1`)).toBe('dead')
    expect(ownerState(`${Number(ns) + 1}.${pid}.${start}`)).toBe('unknown')
    expect(ownerState('../../etc')).toBe('unknown')
    expect(ownerState(undefined)).toBe('unknown')
  })
})
