import Table from 'cli-table3'
import {describe, expect, it} from 'vitest'

import {escapeText} from '../../../src/cli/output/escape'
import {chalkAt} from '../../../src/cli/output/style'
import {type Column, renderTable} from '../../../src/cli/output/table'

interface Row {
  id: string
  path: string
  status: string
  pid: number
}

const columns: Column<Row>[] = [
  {header: 'ID', value: (r) => r.id},
  {header: 'PATH', value: (r) => r.path || null},
  {header: 'STATUS', value: (r) => r.status, color: (text, r, chalk) => (r.status === 'running' ? chalk.green(text) : text)},
  {header: 'PID1', value: (r) => (r.pid ? r.pid : '-')},
]

/** The table as cli-table3 lays out every row (what renderTable printed before it measured cells itself). */
function cliTable3Whole<T>(rows: readonly T[], cols: readonly Column<T>[], chalk?: ReturnType<typeof chalkAt>): string {
  const table = new Table({
    head: cols.map((c) => (chalk ? chalk.bold(c.header) : c.header)),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
  })
  for (const row of rows) {
    table.push(
      cols.map((c) => {
        const raw = c.value(row)
        // Cells are escaped before layout (control characters and newlines never reach the terminal raw).
        const text = raw === undefined || raw === null ? '' : escapeText(String(raw))
        return chalk && c.color ? c.color(text, row, chalk) : text
      }),
    )
  }
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}

const rows: Row[] = Array.from({length: 60}, (_, i) => ({
  id: `c-${'x'.repeat(i % 13)}${i}`,
  path: i % 5 ? `/srv/bundles/b${i}` : '',
  status: i % 3 ? 'running' : 'stopped',
  pid: i % 3 ? 1000 + i * 37 : 0,
}))

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

  it('prints what cli-table3 prints for the whole table, with and without colour', () => {
    expect(renderTable(rows, columns)).toBe(cliTable3Whole(rows, columns))
    const chalk = chalkAt(1)
    expect(renderTable(rows, columns, chalk)).toBe(cliTable3Whole(rows, columns, chalk))
  })

  it('prints the header alone for no rows, and headers wider than their cells', () => {
    expect(renderTable([], columns)).toBe(cliTable3Whole([], columns))
    const narrow = [{id: 'a', path: '', status: '', pid: 0}]
    expect(renderTable(narrow, columns)).toBe(cliTable3Whole(narrow, columns))
  })

  it('leaves cells that are not printable ASCII to cli-table3 (wide and combining characters); newlines and tabs are escaped', () => {
    for (const odd of ['two\nlines', '容器', 'e\u0301', 'tab\there']) {
      const mixed = [...rows.slice(0, 5), {id: odd, path: '/p', status: 'running', pid: 1}]
      expect(renderTable(mixed, columns)).toBe(cliTable3Whole(mixed, columns))
    }
  })

  it('is linear in rows: 20,000 rows in well under a second', () => {
    const many = Array.from({length: 20_000}, (_, i) => ({id: `container-${i}`, path: `/b/${i}`, status: 'running', pid: i}))
    const started = performance.now()
    const text = renderTable(many, columns)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(text.split('\n')).toHaveLength(20_001)
  })
})
