/**
 * The smoke set: the everyday path of ctr, as a shell script runs it, against the private containerd.
 * scripts/test.sh runs this file once more under each other Node version users run (22 and 24), since
 * the CLI is spawned with the Node that runs the tests (process.execPath).
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {LineReader, exited} from '../helpers/line-reader'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let sleeper: string

beforeAll(async () => {
  f = await setupFixture(`smoke-${process.versions.node.split('.')[0]}`)
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-smoke-'))
  sleeper = await makeBundle(join(dir, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe(`smoke on Node ${process.version}`, () => {
  it('version prints the client and the daemon', async () => {
    const result = await f.cli(['version'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`Node:\\s+${process.version.replaceAll('.', '\\.')}`))
    expect(result.stdout).toMatch(/Server:\n\s+Version:\s+v?\d+\.\d+/)
  })

  it('start, list, exec --attach, kill, delete; events sees the exit', async () => {
    const events = f.spawn(['events', '--json', '--id', 'smoke'])
    const lines = new LineReader(events.stdout!)
    try {
      expect(await f.cli(['containers', 'start', 'smoke', sleeper])).toMatchObject({code: 0, stderr: ''})
      expect((await f.cli(['containers', '-q'])).stdout).toBe('smoke\n')
      const pid = Number(/^smoke\s+(\d+)\s+RUNNING$/m.exec((await f.go(['tasks', 'ls'])).stdout)?.[1])
      expect(pid).toBeGreaterThan(0)

      const exec = await f.cli(['containers', 'exec', '--id', 'smoke', '--attach', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'])
      expect(exec).toMatchObject({code: 3, stdout: 'out\n', stderr: 'err\n'})

      expect(await f.cli(['containers', 'kill', '--signal', 'KILL', 'smoke'])).toMatchObject({code: 0, stderr: ''})
      await eventually(async () => (await f.go(['tasks', 'ls'])).stdout.includes('STOPPED'), 'the task stopped')
      // The exec's exit (status 3) came first; the container's own is the one with the init PID.
      const exit = JSON.parse(await lines.waitFor((line) => line.includes('"type":"exit"') && line.includes(`"pid":${pid}`)))
      expect(exit).toMatchObject({topic: '/tasks/exit', type: 'exit', id: 'smoke', pid, status: 137})

      expect(await f.cli(['containers', 'delete', 'smoke'])).toMatchObject({code: 0, stderr: ''})
      expect((await f.go(['containers', 'list', '-q'])).stdout.trim()).toBe('')
      expect(await f.leftovers()).toEqual([])
    } finally {
      events.kill('SIGINT')
      await exited(events)
    }
  })

  it('bad input is one line and exit 125, nothing left', async () => {
    expectOneLineError(await f.cli(['containers', 'start', 'smoke-bad', join(dir, 'no-such-bundle')]), /no-such-bundle/)
    expectOneLineError(await f.cli(['containers', 'kill', 'no-such-container']), /no-such-container/)
    expect((await f.go(['containers', 'list', '-q'])).stdout.trim()).toBe('')
    expect(await f.leftovers()).toEqual([])
  })
})
