/**
 * `ctr containers delete` (alias rm) against the real private containerd, checked with Go's ctr: stopped
 * containers (with or without an exited task record), running ones only with --force, unknown IDs, and
 * many IDs keep going past failures.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let sleeper: string

beforeAll(async () => {
  f = await setupFixture('delete')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-delete-bundles-'))
  sleeper = await makeBundle(join(dir, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const goContainers = async () => (await f.go(['containers', 'list', '-q'])).stdout.split('\n').filter(Boolean)
const startDetached = async (id: string, bundle = sleeper) => expect((await f.cli(['containers', 'start', id, bundle])).code).toBe(0)

describe('ctr containers delete', () => {
  it('deletes a stopped container without a task and prints its ID', async () => {
    const done = await makeBundle(join(dir, 'done'), ['true'])
    expect((await f.cli(['containers', 'start', '-a', 'd-notask', done])).code).toBe(0)
    expect(await f.cli(['containers', 'delete', 'd-notask'])).toMatchObject({code: 0, stdout: 'd-notask\n', stderr: ''})
    expect(await goContainers()).not.toContain('d-notask')
  })

  it('deletes a container whose task exited (the task record first)', async () => {
    await f.run('d-exited', ['true'])
    await eventually(async () => (await f.goTasks()).get('d-exited')?.status === 'STOPPED', 'd-exited to exit')
    expect(await f.cli(['containers', 'rm', 'd-exited'])).toMatchObject({code: 0, stdout: 'd-exited\n'})
    expect(await goContainers()).not.toContain('d-exited')
    expect((await f.goTasks()).has('d-exited')).toBe(false)
  })

  it('refuses a running container without --force, leaving it running', async () => {
    await startDetached('d-running')
    const pid = (await f.goTasks()).get('d-running')?.pid
    expectOneLineError(await f.cli(['containers', 'delete', 'd-running']), /^ctr: container "d-running" is running: stop it first .* or use --force$/m)
    expect((await f.goTasks()).get('d-running')).toEqual({pid, status: 'RUNNING'})
  })

  it('--force kills and deletes a running container (and a paused one)', async () => {
    await startDetached('d-paused')
    await f.go(['tasks', 'pause', 'd-paused'])
    expect((await f.goTasks()).get('d-paused')?.status).toBe('PAUSED')
    const result = await f.cli(['containers', 'rm', '--force', 'd-running', 'd-paused'])
    expect(result).toMatchObject({code: 0, stdout: 'd-running\nd-paused\n', stderr: ''})
    expect(await goContainers()).toEqual([])
    expect((await f.goTasks()).size).toBe(0)
  })

  it('an unknown ID: container "x" not found, exit 125', async () => {
    expectOneLineError(await f.cli(['containers', 'delete', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"$/m)
  })

  it('many IDs: keeps going past failures, reports each on stderr, exits non-zero', async () => {
    await startDetached('d-a')
    await startDetached('d-b')
    await f.go(['tasks', 'kill', '-s', 'KILL', 'd-a'])
    await eventually(async () => (await f.goTasks()).get('d-a')?.status === 'STOPPED', 'd-a to stop')
    const result = await f.cli(['containers', 'delete', 'missing-1', 'd-a', 'd-b', 'missing-2'])
    expect(result.code).toBe(125)
    expect(result.stdout).toBe('d-a\n')
    expect(result.stderr).toBe(
      `ctr: container "missing-1" not found in namespace "${f.namespace}"\nctr: container "d-b" is running: stop it first (kill it) or use --force\nctr: container "missing-2" not found in namespace "${f.namespace}"\n`,
    )
    expect(await goContainers()).toEqual(['d-b'])
    expect(await f.cli(['containers', 'delete', '-f', 'd-b'])).toMatchObject({code: 0, stdout: 'd-b\n'})
  })

  it('--json returns the deleted IDs', async () => {
    await startDetached('d-json')
    const result = await f.cli(['containers', 'delete', '--force', '--json', 'd-json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([{id: 'd-json'}])
  })
})
