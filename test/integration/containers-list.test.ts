/**
 * `ctr containers` (list) against the real private containerd: statuses and PIDs agree with Go's ctr,
 * containers made by other tools (Go ctr --rootfs, an image-based record) list too, filters, -q, --json,
 * the ls/list aliases, and a bad filter is one line naming it.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {makeOciImageTar} from '../helpers/oci-image'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let sleeper: string
const IMAGE = 'docker.io/library/ctr-list-test:1'

const list = async (args: string[] = []) => {
  const result = await f.cli(['containers', '--json', ...args])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Array<Record<string, any>>
}
const ids = async (args: string[]) => (await f.cli(['containers', '-q', ...args])).stdout.split('\n').filter(Boolean)

beforeAll(async () => {
  f = await setupFixture('list')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-list-bundles-'))
  sleeper = await makeBundle(join(dir, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await f?.go(['containers', 'delete', 'l-image'])
  await f?.go(['images', 'remove', IMAGE])
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('ctr containers (list)', () => {
  it('an empty namespace: the header only; -q and --json print nothing / []', async () => {
    expect((await f.cli(['containers'])).stdout.trim().split(/\s+/)).toEqual(['ID', 'PATH', 'STATUS', 'PID1'])
    expect((await f.cli(['containers', '-q'])).stdout).toBe('')
    expect(await list()).toEqual([])
  })

  it('shows every state with the PIDs Go ctr reports, for containers made by ctr and by other tools', async () => {
    expect((await f.cli(['containers', 'start', 'l-run', sleeper])).code).toBe(0)
    expect((await f.cli(['containers', 'start', 'l-paused', sleeper])).code).toBe(0)
    await f.go(['tasks', 'pause', 'l-paused'])
    // An attached run leaves the container without a task; Go ctr's exited task keeps its record.
    const done = await makeBundle(join(dir, 'done'), ['true'])
    expect((await f.cli(['containers', 'start', '-a', 'l-notask', done])).code).toBe(0)
    await f.run('l-go', ['sleep', '100000'])
    await f.run('l-exited', ['true'])
    await eventually(async () => (await f.goTasks()).get('l-exited')?.status === 'STOPPED', 'l-exited to exit')
    // An image-based container, made as Go ctr and nerdctl make them.
    await makeOciImageTar(join(dir, 'tiny.tar'), IMAGE)
    expect((await f.go(['images', 'import', '--no-unpack', join(dir, 'tiny.tar')])).code).toBe(0)
    const created = await f.go(['containers', 'create', IMAGE, 'l-image'])
    expect(created.code, created.stderr).toBe(0)

    const go = await f.goTasks()
    const byId = Object.fromEntries((await list()).map((c) => [c.id, c]))
    expect(Object.keys(byId)).toEqual(['l-exited', 'l-go', 'l-image', 'l-notask', 'l-paused', 'l-run'])
    expect(byId['l-run']).toMatchObject({status: 'running', pid: go.get('l-run')!.pid, bundle: sleeper})
    expect(byId['l-paused']).toMatchObject({status: 'paused', pid: go.get('l-paused')!.pid})
    expect(byId['l-notask']).toMatchObject({status: 'stopped', pid: 0, bundle: done})
    expect(byId['l-go']).toMatchObject({status: 'running', pid: go.get('l-go')!.pid, bundle: ''})
    expect(byId['l-exited']).toMatchObject({status: 'stopped', pid: 0, exitStatus: 0})
    expect(byId['l-image']).toMatchObject({status: 'created', image: IMAGE, bundle: ''})

    const rows = Object.fromEntries(
      (await f.cli(['containers'])).stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => {
          const cells = line.trim().split(/\s+/)
          return [cells[0], cells.slice(1)]
        }),
    )
    expect(rows['l-run']).toEqual([sleeper, 'running', String(go.get('l-run')!.pid)])
    expect(rows['l-notask']).toEqual([done, 'stopped', '-'])
    expect(rows['l-go']).toEqual(['-', 'running', String(go.get('l-go')!.pid)])
    expect(rows['l-image']).toEqual([IMAGE, 'created', '-'])
  })

  it('filters by status, id and label; the aliases ls and list work', async () => {
    expect(await ids(['--filter', 'status=running'])).toEqual(['l-go', 'l-run'])
    expect(await ids(['--filter', 'status=stopped'])).toEqual(['l-exited', 'l-notask'])
    expect(await ids(['--filter', 'status=created'])).toEqual(['l-image'])
    expect(await ids(['--filter', 'status=paused', '--filter', 'status=running'])).toEqual(['l-go', 'l-paused', 'l-run'])
    expect(await ids(['-f', 'id=l-go'])).toEqual(['l-go'])
    expect(await ids(['--filter', `label=io.ctr.bundle=${sleeper}`])).toEqual(['l-paused', 'l-run'])
    expect(await ids(['--filter', 'label=io.ctr.bundle', '--filter', 'status=stopped'])).toEqual(['l-notask'])
    expect((await f.cli(['containers', 'ls', '-q', '--filter', 'status=paused'])).stdout).toBe('l-paused\n')
    expect((await f.cli(['containers', 'list', '-q', '--filter', 'id=l-run'])).stdout).toBe('l-run\n')
  })

  it('a bad filter is one usage line naming it', async () => {
    expectOneLineError(await f.cli(['containers', '--filter', 'colour=red']), /invalid --filter "colour=red"/)
    expectOneLineError(await f.cli(['containers', '--filter', 'status=sleepy']), /invalid --filter "status=sleepy": status must be one of/)
  })

  it('the clean-up one-liner removes exactly the stopped containers', async () => {
    const stopped = await ids(['--filter', 'status=stopped'])
    const result = await f.cli(['containers', 'rm', ...stopped])
    expect(result).toMatchObject({code: 0, stdout: stopped.map((id) => `${id}\n`).join(''), stderr: ''})
    expect(await ids([])).toEqual(['l-go', 'l-image', 'l-paused', 'l-run']) // created (never started) is not stopped
  })
})
