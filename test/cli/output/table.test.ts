import {describe, expect, it} from 'vitest'

import {type Column, displayWidth, renderTable} from '../../../src/cli/output/table'
import {chalkAt} from '../../../src/cli/output/ux'

interface Row {
  id: string
  status: string
  pid: number
}

const columns: Column<Row>[] = [
  {header: 'ID', value: (r) => r.id},
  {header: 'STATUS', value: (r) => r.status || null, color: (text, r, chalk) => (r.status === 'running' ? chalk.green(text) : text)},
  {header: 'PID', value: (r) => r.pid},
]

describe('renderTable', () => {
  it('prints a header and aligned columns without borders or trailing blanks', () => {
    const text = renderTable(
      [
        {id: 'a', pid: 12},
        {id: 'longer', pid: 3},
      ],
      [
        {header: 'ID', value: (r) => r.id},
        {header: 'PID', value: (r) => r.pid},
      ],
    )
    expect(text.split('\n')).toEqual(['ID       PID', 'a        12', 'longer   3'])
  })

  it('prints the header alone for no rows', () => {
    expect(renderTable([], columns)).toBe('ID   STATUS   PID')
  })

  // The expected text is what cli-table3 (borderless, no padding, lines trimmed) printed for these rows.
  it('lines up wide, combining and emoji characters by display width; control characters are escaped', () => {
    const rows = [
      {id: '容器', status: 'running', pid: 1},
      {id: 'e\u0301', status: 'x', pid: 22},
      {id: 'ab', status: '', pid: 3},
      {id: 'tab\there', status: '🐳', pid: 0},
      {id: 'two\nlines', status: 'x', pid: 4},
    ]
    expect(renderTable(rows, columns).split('\n')).toEqual([
      'ID           STATUS    PID',
      '容器         running   1',
      'e\u0301            x         22',
      'ab                     3',
      'tab\\there    🐳        0',
      'two\\nlines   x         4',
    ])
  })

  it('colours after measuring: escape codes take no width', () => {
    const text = renderTable([{id: '容器', status: 'running', pid: 1}], columns, chalkAt(1))
    expect(text.split('\n')).toEqual(['\x1b[1mID\x1b[22m     \x1b[1mSTATUS\x1b[22m    \x1b[1mPID\x1b[22m', '容器   \x1b[32mrunning\x1b[39m   1'])
  })

  it("puts the rows under cli-table3's own header: the same widths and gap", () => {
    const columns = [
      {header: 'ID', value: (r: {id: string; s: string}) => r.id},
      {header: 'STATUS', value: (r: {id: string; s: string}) => r.s},
      {header: 'X', value: () => 'last'},
    ]
    const rows = [
      {id: 'a-much-longer-id', s: 'running'},
      {id: 'é✓', s: 'stopped-for-good'},
    ]
    const [header, ...lines] = renderTable(rows, columns).split('\n')
    const starts = (line: string) => [line.indexOf('STATUS'), line.indexOf('X')]
    expect(starts(header)).toEqual([16 + 3, 16 + 3 + 16 + 3])
    expect(lines[0].indexOf('running')).toBe(starts(header)[0])
    expect(lines[0].indexOf('last')).toBe(starts(header)[1])
  })

  it('is linear in rows: 20,000 rows in well under a second', () => {
    const many = Array.from({length: 20_000}, (_, i) => ({id: `container-${i}`, status: 'running', pid: i}))
    const started = performance.now()
    const text = renderTable(many, columns)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(text.split('\n')).toHaveLength(20_001)
  })
})

describe('displayWidth', () => {
  it('counts columns, not UTF-16 units', () => {
    expect(displayWidth('abc')).toBe(3)
    expect(displayWidth('容器')).toBe(4)
    expect(displayWidth('e\u0301')).toBe(1)
  })
})
