import {Writable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {formatRow, InPlaceBlock, RowWriter, writeJsonLine} from '../../../src/cli/output/live'

/** A stream that records each write call separately (one write per row is what makes pipes live). */
function recorder() {
  const writes: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      writes.push(String(chunk))
      done()
    },
  })
  return {stream, writes}
}

describe('formatRow', () => {
  it('pads to minimum widths with three-space gaps, never pads the last cell, trims the end', () => {
    expect(formatRow(['exit', 'redis', '24761', '0'], [6, 8, 7, 0])).toBe('exit     redis      24761     0')
    expect(formatRow(['container-create', 'web', '', ''], [6, 8, 7, 0])).toBe('container-create   web')
  })

  it('lets a long cell push the row right instead of truncating it', () => {
    expect(formatRow(['a-very-long-container-id', 'x'], [4, 0])).toBe('a-very-long-container-id   x')
  })
})

describe('RowWriter', () => {
  const columns = [
    {header: 'TYPE', width: 6, value: (r: {t: string; n: number}) => r.t},
    {header: 'N', width: 0, value: (r: {t: string; n: number}) => String(r.n)},
  ]

  it('writes the header once, then one write per row', () => {
    const {stream, writes} = recorder()
    const rows = new RowWriter(columns, stream)
    rows.header()
    rows.row({t: 'start', n: 1})
    rows.header()
    rows.row({t: 'exit', n: 137})
    expect(writes).toEqual(['TYPE     N\n', 'start    1\n', 'exit     137\n'])
  })

  it('writes the header before the first row if nobody asked for it', () => {
    const {stream, writes} = recorder()
    new RowWriter(columns, stream).row({t: 'oom', n: 0})
    expect(writes).toEqual(['TYPE     N\n', 'oom      0\n'])
  })
})

describe('InPlaceBlock', () => {
  it('moves back over the previous block and clears below before redrawing', () => {
    const {stream, writes} = recorder()
    const block = new InPlaceBlock(stream)
    block.render(['a', 'b'])
    block.render(['c', 'd', 'e'])
    block.render(['f'])
    expect(writes).toEqual(['a\nb\n', '\x1b[2A\r\x1b[Jc\nd\ne\n', '\x1b[3A\r\x1b[Jf\n'])
  })
})

describe('writeJsonLine', () => {
  it('writes one compact line, bigint as number, dates as ISO', () => {
    const {stream, writes} = recorder()
    writeJsonLine({pid: 5n, at: new Date('2026-01-02T03:04:05.000Z'), nested: {a: [1]}}, stream)
    expect(writes).toEqual(['{"pid":5,"at":"2026-01-02T03:04:05.000Z","nested":{"a":[1]}}\n'])
  })
})
