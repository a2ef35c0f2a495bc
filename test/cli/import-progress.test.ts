import {describe, expect, it} from 'vitest'

import {importDisplay, importText} from '../../src/cli/import-progress'

describe('import progress', () => {
  it('says how much of the archive was read, with the share when the size is known, then the layer', () => {
    expect(importText({phase: 'read', bytes: 3 * 1024 * 1024, total: 12 * 1024 * 1024})).toBe('reading the archive: 3.0 MiB of 12.0 MiB (25%)')
    expect(importText({phase: 'read', bytes: 512})).toBe('reading the archive: 512.0 B')
    expect(importText({phase: 'unpack', image: 'x:1', layer: 0, layers: 3})).toBe('unpacking x:1: layer 1 of 3')
    expect(importText({phase: 'unpack', image: 'x:1', layer: 3, layers: 3})).toBe('unpacking x:1: layer 3 of 3')
  })

  it('draws nothing off a terminal or under --json', () => {
    const writes: string[] = []
    const stream = {isTTY: false, write: (s: string) => writes.push(s)} as unknown as NodeJS.WriteStream
    const display = importDisplay({stream})
    display.update({phase: 'read', bytes: 1})
    display.stop()
    const tty = {...stream, isTTY: true} as unknown as NodeJS.WriteStream
    const json = importDisplay({stream: tty, json: true})
    json.update({phase: 'read', bytes: 1})
    json.stop()
    expect(writes).toEqual([])
  })
})
