import {describe, expect, it} from 'vitest'

import {EXEC_EXIT_LABEL_PREFIX, execExits} from '../../../src/lib/tasks/exec-exits'

describe('execExits', () => {
  it('reads the exit records among the labels, newest first, and skips what is not one', () => {
    const labels = {
      [`${EXEC_EXIT_LABEL_PREFIX}old`]: JSON.stringify({pid: 10, exitStatus: 0, exitedAt: '2026-01-01T00:00:00.000Z'}),
      [`${EXEC_EXIT_LABEL_PREFIX}new`]: JSON.stringify({pid: 11, exitStatus: 137, exitedAt: '2026-01-02T00:00:00.000Z'}),
      [`${EXEC_EXIT_LABEL_PREFIX}garbled`]: '{not json',
      [`${EXEC_EXIT_LABEL_PREFIX}no-pid`]: JSON.stringify({exitStatus: 1}),
      'io.ctr.bundle': '/b',
    }
    expect(execExits(labels)).toEqual([
      {execId: 'new', pid: 11, exitStatus: 137, exitedAt: new Date('2026-01-02T00:00:00.000Z')},
      {execId: 'old', pid: 10, exitStatus: 0, exitedAt: new Date('2026-01-01T00:00:00.000Z')},
    ])
    expect(execExits({})).toEqual([])
  })
})
