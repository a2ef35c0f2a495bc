import {expect} from 'vitest'

import {CtrError} from '../../src/lib/containerd/errors'

/** The message of the usage CtrError `fn` throws; fails the test if it throws anything else, or nothing. */
export function usageMessage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).kind).toBe('usage')
    return (error as CtrError).message
  }
  throw new Error('expected a usage error')
}
