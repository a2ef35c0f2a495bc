import {describe, expect, it} from 'vitest'

import {CtrError} from '../../../src/lib/containerd/errors'
import {exitCodeForSignal, parseSignal, signalName} from '../../../src/lib/tasks/signals'

describe('parseSignal', () => {
  it.each([
    ['9', 9],
    ['KILL', 9],
    ['SIGKILL', 9],
    ['sigkill', 9],
    ['kill', 9],
    ['15', 15],
    ['TERM', 15],
    ['SIGHUP', 1],
    ['1', 1],
    ['64', 64],
    ['SIGUSR1', 10],
    ['usr2', 12],
    ['CHLD', 17],
    ['SIGCLD', 17],
    ['IOT', 6],
    ['SIGWINCH', 28],
    ['SIGSYS', 31],
    ['RTMIN', 34],
    ['SIGRTMIN+1', 35],
    ['rtmin+30', 64],
    ['RTMAX', 64],
    ['SIGRTMAX-2', 62],
    ['RTMAX-30', 34],
  ])('%s → %d', (text, number) => expect(parseSignal(text)).toBe(number))

  it.each(['NOPE', '0', '65', '99', '-1', '', 'SIG', '9x', 'RTMIN-1', 'RTMAX+1', 'RTMIN+31', 'RTMAX-31', 'SIGSIGKILL', '1.5', 'constructor'])(
    'rejects %j as a usage error naming it',
    (text) => {
      let error: unknown
      try {
        parseSignal(text)
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(CtrError)
      expect((error as CtrError).kind).toBe('usage')
      expect((error as CtrError).exitCode).toBe(125)
      expect((error as CtrError).message).toContain(`invalid signal "${text}"`)
      expect((error as CtrError).message).not.toContain('\n')
    },
  )
})

describe('signalName', () => {
  it.each([
    [9, 'SIGKILL'],
    [15, 'SIGTERM'],
    [6, 'SIGABRT'],
    [17, 'SIGCHLD'],
    [34, 'SIGRTMIN'],
    [36, 'SIGRTMIN+2'],
    [64, 'SIGRTMAX'],
    [32, 'signal 32'],
  ])('%d → %s', (number, name) => expect(signalName(number)).toBe(name))

  it('round-trips every named signal', () => {
    for (let n = 1; n <= 64; n++) {
      if (n === 32 || n === 33) continue
      expect(parseSignal(signalName(n))).toBe(n)
    }
  })
})

it('exit code for a signal is 128+N', () => {
  expect(exitCodeForSignal(9)).toBe(137)
  expect(exitCodeForSignal(15)).toBe(143)
})
