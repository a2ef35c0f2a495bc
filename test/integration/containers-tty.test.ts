/**
 * `ctr containers start --attach --tty` on a real pseudo-terminal: output arrives, typed input and Ctrl-C
 * (a byte in raw mode) reach the container, a window resize reaches it (`stty size` changes), and ctr's
 * terminal mode is restored on every exit path (exit, error, signal).
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {runInPty, type PtyStep} from '../helpers/pty'
import {CLI, cliEnv} from '../helpers/run-cli'
import {type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string

beforeAll(async () => {
  f = await setupFixture('tty')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-tty-bundles-'))
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

let bundles = 0
const bundle = (args: string[], terminal = false) => makeBundle(join(dir, `b${++bundles}`), args, {terminal})
const inPty = (args: string[], steps: PtyStep[] = []) =>
  runInPty([process.execPath, CLI, ...args], {env: cliEnv({address: f.address, namespace: f.namespace, env: {TMPDIR: f.cliTmp}}), steps})

describe('ctr containers start --attach --tty', () => {
  it('shows output, passes a window resize to the container, and restores the terminal', async () => {
    // Resized once ctr is attached (typed input reaches the process only after ctr follows SIGWINCH); the
    // process polls until its size changes (10 s at most), then shows it.
    const b = await bundle([
      'sh',
      '-c',
      'stty size; read line; echo attached; i=0; while [ "$(stty size)" = "24 80" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size',
    ])
    const result = await inPty(
      ['containers', 'start', '-a', '-t', '--rm', 't-size', b],
      [
        {wait: '24 80', write: 'go\r'},
        {wait: 'attached', resize: [30, 100]},
      ],
    )
    expect(result.pendingSteps, result.output).toBe(0)
    expect(result.output).toMatch(/24 80\r+\ngo\r+\nattached\r+\n30 100\r+\n/)
    expect(result.code).toBe(0)
    expect(result.modeRestored).toBe(true)
    expect(await f.leftovers()).toEqual([])
  })

  it('passes typed input to the container and exits with its code', async () => {
    const b = await bundle(['sh', '-c', 'echo prompt; read line; echo "got [$line]"; exit 4'])
    const result = await inPty(['containers', 'start', '-a', '-t', '--rm', 't-input', b], [{wait: 'prompt', write: 'abc\r'}])
    expect(result.output).toContain('got [abc]')
    expect(result.code).toBe(4)
    expect(result.modeRestored).toBe(true)
  })

  it('Ctrl-C is a byte for the container (its terminal raises SIGINT there), not a signal for ctr', async () => {
    const b = await bundle(['sh', '-c', 'trap "echo caught; exit 9" INT; echo ready; while true; do sleep 0.1; done'])
    const result = await inPty(['containers', 'start', '-a', '-t', '--rm', 't-ctrlc', b], [{wait: 'ready', write: '\x03'}])
    expect(result.output).toContain('caught')
    expect(result.code).toBe(9)
    expect(result.modeRestored).toBe(true)
  })

  it('a spec with process.terminal gets a terminal when attached, without --tty', async () => {
    const b = await bundle(['sh', '-c', 'test -t 0 && echo "is a tty"'], true)
    const result = await inPty(['containers', 'start', '-a', '--rm', 't-spec', b])
    expect(result.output).toContain('is a tty')
    expect(result.code).toBe(0)
  })

  it('restores the terminal when ctr is signalled (it detaches: the container keeps running)', async () => {
    const b = await bundle(['sh', '-c', 'echo ready; sleep 100000'])
    const result = await inPty(['containers', 'start', '-a', '-t', 't-term', b], [{wait: 'ready', signal: 'TERM'}])
    expect(result.code).toBe(143)
    expect(result.modeRestored).toBe(true)
    expect((await f.goTasks()).get('t-term')?.status).toBe('RUNNING')
    expect(await f.leftovers()).toEqual([])
    expect((await f.cli(['containers', 'rm', '-f', 't-term'])).code).toBe(0)
  })

  it('restores the terminal after a failed start (127), leaving nothing behind', async () => {
    const b = await bundle(['no-such-command'])
    const result = await inPty(['containers', 'start', '-a', '-t', 't-fail', b])
    expect(result.code).toBe(127)
    expect(result.output).toMatch(/^ctr: .*executable file not found\r?\n$/)
    expect(result.modeRestored).toBe(true)
    expect((await f.go(['containers', 'list', '-q'])).stdout.trim()).toBe('')
    expect(await f.leftovers()).toEqual([])
  })
})
