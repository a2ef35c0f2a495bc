import {describe, expect, it} from 'vitest'

import {containerNotFound, CtrError, fromGrpcError} from '../../../src/lib/containerd/errors'
import {checkKillOptions, parsePid, STOP_SIGNAL_LABEL, stopSignalOf, withContainer} from '../../../src/lib/tasks/processes'

describe('kill options', () => {
  it('parses the PID as a non-negative integer', () => {
    expect(parsePid('0')).toBe(0)
    expect(parsePid('4242')).toBe(4242)
    for (const bad of ['-1', 'x', '1.5', '', '0x10']) expect(() => parsePid(bad)).toThrow(`invalid PID "${bad}"`)
  })

  it('refuses a PID with all processes', () => {
    expect(() => checkKillOptions({pid: 5, all: true})).toThrow('PID and all processes cannot be used together')
    expect(() => checkKillOptions({pid: 0, all: true})).not.toThrow()
  })
})

describe('stopSignalOf', () => {
  it("reads the stop-signal label as Go's GetStopSignal does, SIGTERM without it", () => {
    expect(stopSignalOf({id: 'a', labels: {}})).toBe(15)
    expect(stopSignalOf({id: 'a', labels: {[STOP_SIGNAL_LABEL]: 'SIGUSR1'}})).toBe(10)
    expect(stopSignalOf({id: 'a', labels: {[STOP_SIGNAL_LABEL]: '9'}})).toBe(9)
    expect(() => stopSignalOf({id: 'a', labels: {[STOP_SIGNAL_LABEL]: 'SIGNOPE'}})).toThrow('container "a" has a stop signal ctr does not know: "SIGNOPE"')
  })
})

describe('withContainer', () => {
  it('turns a missing task into "has no running task"', () => {
    const daemon = fromGrpcError(Object.assign(new Error('5 NOT_FOUND: task web not found'), {code: 5, details: 'task web not found'}), {address: '/s'})
    const error = withContainer(daemon, 'web') as CtrError
    expect(error.message).toBe('container "web" has no running task')
    expect(error.kind).toBe('not-found')
  })

  it('names the container in errors that do not, and keeps those that do', () => {
    expect((withContainer(new CtrError('internal', 'cannot pause a paused container'), 'web') as CtrError).message).toBe(
      'container "web": cannot pause a paused container',
    )
    const named = containerNotFound('web', 'n')
    expect(withContainer(named, 'web')).toBe(named)
    // Named by what the error is about, not by its text.
    const other = new CtrError('internal', 'snapshot "web" is busy')
    expect((withContainer(other, 'web') as CtrError).message).toBe('container "web": snapshot "web" is busy')
    const once = withContainer(other, 'web')
    expect(withContainer(once, 'web')).toBe(once)
    const lost = new CtrError('unavailable', 'cannot connect to containerd at /x: no such file')
    expect(withContainer(lost, 'web')).toBe(lost)
  })
})
