import {describe, expect, it} from 'vitest'

import {importText} from '../../../src/cli/output/progress'

describe('importText', () => {
  it('says how much of the archive was read, with the share when the size is known, then the layer', () => {
    expect(importText({phase: 'read', bytes: 3 * 1024 * 1024, total: 12 * 1024 * 1024})).toBe('reading the archive: 3.0 MiB of 12.0 MiB (25%)')
    expect(importText({phase: 'read', bytes: 512})).toBe('reading the archive: 512.0 B')
    expect(importText({phase: 'unpack', image: 'x:1', layer: 0, layers: 3})).toBe('unpacking x:1: layer 1 of 3')
    expect(importText({phase: 'unpack', image: 'x:1', layer: 3, layers: 3})).toBe('unpacking x:1: layer 3 of 3')
  })
})
