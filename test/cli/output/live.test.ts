import {Writable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {formatRow, InPlaceBlock, type LiveColumn, RowWriter, shorten, type TerminalStream} from '../../../src/cli/output/live'

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

/** A recorder that looks like a terminal of this size (columns and rows may be changed between writes). */
function terminal(columns: number, rows: number) {
  const {stream, writes} = recorder()
  const tty = Object.assign(stream, {isTTY: true, columns, rows}) as TerminalStream & {columns: number; rows: number}
  return {stream: tty, writes}
}

/** Where each cell of a line starts (cells are at least three spaces apart and have single spaces inside). */
const starts = (line: string) => [...line.matchAll(/(?<=^| {3})\S/g)].map((m) => m.index)

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

describe('RowWriter.fit (columns sized to their content)', () => {
  interface Row {
    id: string
    cpu: string
    mem: string
  }
  const columns: LiveColumn<Row>[] = [
    {header: 'ID', width: 0, shortest: 12, value: (r) => r.id},
    {header: 'CPU %', width: 0, value: (r) => r.cpu},
    {header: 'MEM', width: 0, value: (r) => r.mem},
  ]
  const long = 'a'.repeat(64)
  const row = (id: string, cpu = '0.50%', mem = '1MiB / 2GiB'): Row => ({id, cpu, mem})

  it('makes each column as wide as its header at least, and as its longest cell', () => {
    const {stream, writes} = recorder()
    const rows = new RowWriter(columns, stream)
    const round = [row('web'), row('redis-cache', '100.00%')]
    rows.fit(round)
    for (const r of round) rows.row(r)
    expect(writes).toEqual(['ID            CPU %     MEM\n', 'web           0.50%     1MiB / 2GiB\n', 'redis-cache   100.00%   1MiB / 2GiB\n'])
  })

  it('keeps a 64-character ID aligned with short ones, and a short ID does not leave a wide blank column', () => {
    const {stream, writes} = recorder()
    const rows = new RowWriter(columns, stream)
    rows.fit([row(long), row('web')])
    rows.row(row(long))
    rows.row(row('web'))
    const lines = writes.map((w) => w.trimEnd())
    expect(new Set(lines.map((l) => starts(l).join()))).toEqual(new Set([[0, 67, 75].join()]))

    const short = recorder()
    const shortRows = new RowWriter(columns, short.stream)
    shortRows.fit([row('web')])
    shortRows.row(row('web'))
    expect(short.writes).toEqual(['ID    CPU %   MEM\n', 'web   0.50%   1MiB / 2GiB\n'])
  })

  it('only widens between rounds, so rows appended later stay under the header written first', () => {
    const {stream, writes} = recorder()
    const rows = new RowWriter(columns, stream)
    rows.fit([row('redis-cache')])
    rows.row(row('redis-cache'))
    rows.fit([row('web')])
    rows.row(row('web'))
    expect(writes).toEqual(['ID            CPU %   MEM\n', 'redis-cache   0.50%   1MiB / 2GiB\n', 'web           0.50%   1MiB / 2GiB\n'])
  })

  it('a header alone (an empty round) is as wide as the headers', () => {
    const {stream, writes} = recorder()
    const rows = new RowWriter(columns, stream)
    rows.fit([])
    rows.header()
    expect(writes).toEqual(['ID   CPU %   MEM\n'])
  })

  it('without fit, fixed widths stay as they are (events: a 64-wide ID column)', () => {
    const fixed: LiveColumn<Row>[] = [
      {header: 'ID', width: 64, value: (r) => r.id},
      {header: 'CPU %', width: 0, value: (r) => r.cpu},
    ]
    const {stream, writes} = recorder()
    new RowWriter(fixed, stream).row(row('web'))
    expect(writes).toEqual([`${'ID'.padEnd(64)}   CPU %\n`, `${'web'.padEnd(64)}   0.50%\n`])
  })
})

describe('RowWriter.lines (a block for a terminal)', () => {
  const columns: LiveColumn<{id: string; n: string}>[] = [
    {header: 'ID', width: 0, shortest: 12, value: (r) => r.id},
    {header: 'VALUE', width: 0, value: (r) => r.n},
  ]
  const long = '0123456789abcdef'.repeat(4)

  it('aligns the block and shortens nothing without a width, or when it fits', () => {
    const rows = new RowWriter(columns)
    const block = [
      {id: long, n: '1'},
      {id: 'web', n: '22'},
    ]
    const lines = rows.lines(block)
    expect(lines).toEqual([`${'ID'.padEnd(64)}   VALUE`, `${long}   1`, `${'web'.padEnd(64)}   22`])
    expect(rows.lines(block, {maxWidth: 72})).toEqual(lines)
    expect(rows.lines(block, {header: false})).toEqual(lines.slice(1))
  })

  it('shortens long IDs just enough to fit, ending in …, and keeps the columns aligned', () => {
    const rows = new RowWriter(columns)
    const lines = rows.lines(
      [
        {id: long, n: '1'},
        {id: 'web', n: '22'},
      ],
      {maxWidth: 40},
    )
    expect(lines).toEqual([`${'ID'.padEnd(32)}   VALUE`, `${long.slice(0, 31)}…   1`, `${'web'.padEnd(32)}   22`])
    expect(Math.max(...lines.map((l) => l.length))).toBe(40)
  })

  it("never below the column's shortest (12): the rest is left for the block to cut", () => {
    const rows = new RowWriter(columns)
    const lines = rows.lines([{id: long, n: '1'.repeat(30)}], {maxWidth: 20})
    expect(lines[1]).toBe(`${long.slice(0, 11)}…   ${'1'.repeat(30)}`)
    expect(rows.lines([{id: 'short-id', n: '1'.repeat(30)}], {maxWidth: 20})[1]).toBe(`short-id   ${'1'.repeat(30)}`)
  })
})

describe('shorten', () => {
  it('keeps text that fits, else cuts it to the width with … last', () => {
    expect(shorten('abc', 3)).toBe('abc')
    expect(shorten('abcdef', 4)).toBe('abc…')
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

  it('on a terminal, cuts lines to its width (so none wraps)', () => {
    const {stream, writes} = terminal(10, 24)
    const block = new InPlaceBlock(stream)
    expect(block.width).toBe(10)
    block.render(['0123456789', '0123456789abc', 'short'])
    expect(writes).toEqual(['0123456789\n012345678…\nshort\n'])
  })

  it('shows at most rows-1 lines, the last saying how many more are not shown', () => {
    const {stream, writes} = terminal(80, 5)
    const block = new InPlaceBlock(stream, (hidden) => `… ${hidden} more (enlarge the window, or use --json)`)
    const lines = ['HEADER', ...Array.from({length: 40}, (_, i) => `row ${i}`)]
    block.render(lines)
    block.render(lines)
    expect(writes[0]).toBe('HEADER\nrow 0\nrow 1\n… 38 more (enlarge the window, or use --json)\n')
    // Back up over the 4 lines shown, not the 41 given.
    expect(writes[1]).toBe('\x1b[4A\r\x1b[J' + writes[0])
    block.render(lines.slice(0, 4))
    expect(writes[2]).toBe('\x1b[4A\r\x1b[JHEADER\nrow 0\nrow 1\nrow 2\n')
  })

  it('reads the size at each render, so a resized window is followed', () => {
    const {stream, writes} = terminal(80, 24)
    const block = new InPlaceBlock(stream)
    const lines = ['HEADER', ...Array.from({length: 5}, (_, i) => `a long row number ${i}`)]
    block.render(lines)
    stream.columns = 12
    stream.rows = 4
    expect(block.width).toBe(12)
    block.render(lines)
    stream.columns = 100
    stream.rows = 50
    block.render(lines)
    expect(writes[0]).toBe(lines.join('\n') + '\n')
    expect(writes[1]).toBe('\x1b[6A\r\x1b[JHEADER\na long row …\n… 4 more\n')
    expect(writes[2]).toBe('\x1b[3A\r\x1b[J' + lines.join('\n') + '\n')
    for (const line of writes[1].replace(/^\x1b\[\d+A\r\x1b\[J/, '').split('\n')) expect(line.length).toBeLessThanOrEqual(12)
  })

  it('cuts and caps nothing when the stream is not a terminal, whatever its size says', () => {
    const {stream, writes} = terminal(10, 3)
    stream.isTTY = false
    const block = new InPlaceBlock(stream)
    expect(block.width).toBeUndefined()
    const lines = ['HEADER', 'a row much longer than ten', 'b', 'c', 'd']
    block.render(lines)
    expect(writes).toEqual([lines.join('\n') + '\n'])
  })
})
