/**
 * `containers stop`, `restart` and `start ID` (no SOURCE) against the real private containerd: the stop
 * signal then SIGKILL after the grace period, a process's own exit status when it handles the signal, a
 * restart that keeps the log (both runs and the restart line), a stopped container started again, and
 * several IDs with one unknown: one line, 125, the others still stopped.
 */
import {readFileSync, readlinkSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let logDir: string
const cli = (args: string[]) => f.cli(args, {env: {CTR_LOG_DIR: logDir}})

/** Prints `ready` once its TERM handling is set up, then idles. */
const IGNORES_TERM = 'trap "" TERM; echo ready; while true; do sleep 0.1; done'
const EXITS_42_ON_TERM = 'trap "exit 42" TERM; echo ready; while true; do sleep 0.1; done'

async function startDetached(id: string, script: string): Promise<void> {
  const bundle = await makeBundle(join(dir, id), ['sh', '-c', script])
  const started = await cli(['containers', 'start', id, bundle])
  expect(started.code, started.stderr).toBe(0)
  await eventually(async () => (await cli(['containers', 'logs', id])).stdout.includes('ready'), `${id} to be ready`)
}

async function listed(id: string): Promise<{status: string; exitStatus?: number; pid: number}> {
  const list = JSON.parse((await cli(['containers', '--json'])).stdout) as Array<{id: string; status: string; exitStatus?: number; pid: number}>
  return list.find((c) => c.id === id)!
}

beforeAll(async () => {
  f = await setupFixture('stop')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-stop-'))
  await chmod(dir, 0o755)
  logDir = join(dir, 'logs')
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('ctr containers stop', () => {
  it('a process ignoring SIGTERM is killed after -t 1: exit status 137', async () => {
    await startDetached('s-ignore', IGNORES_TERM)
    const began = Date.now()
    const result = await cli(['containers', 'stop', '-t', '1', '--json', 's-ignore'])
    const took = Date.now() - began
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([{id: 's-ignore', stopped: true, exitStatus: 137, killed: true}])
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(took).toBeLessThan(8000)
    expect(await listed('s-ignore')).toMatchObject({status: 'stopped', exitStatus: 137, pid: 0})
    // Its task is gone (the shim with it): Go's ctr lists no task.
    expect((await f.goTasks()).has('s-ignore')).toBe(false)
  })

  it('a process handling SIGTERM exits with its own status, before the grace period', async () => {
    await startDetached('s-handle', EXITS_42_ON_TERM)
    const began = Date.now()
    const result = await cli(['containers', 'stop', '--json', 's-handle'])
    expect(result.code, result.stderr).toBe(0)
    expect(Date.now() - began).toBeLessThan(5000)
    expect(JSON.parse(result.stdout)).toEqual([{id: 's-handle', stopped: true, exitStatus: 42, killed: false}])
    expect(await listed('s-handle')).toMatchObject({status: 'stopped', exitStatus: 42})
  })

  it('stopping a stopped container is not an error', async () => {
    const result = await cli(['containers', 'stop', 's-handle'])
    expect(result).toMatchObject({code: 0, stdout: 's-handle\n', stderr: ''})
    expect(await listed('s-handle')).toMatchObject({status: 'stopped', exitStatus: 42})
  })

  it('several IDs, one unknown: one line, exit 125, the others still stopped', async () => {
    await startDetached('s-a', EXITS_42_ON_TERM)
    await startDetached('s-b', EXITS_42_ON_TERM)
    const result = await cli(['containers', 'stop', 's-a', 's-nope', 's-b'])
    expectOneLineError(result, /container "s-nope" not found/)
    expect(result.stdout).toBe('s-a\ns-b\n')
    expect((await listed('s-a')).status).toBe('stopped')
    expect((await listed('s-b')).status).toBe('stopped')
  })

  it('a bad -t is one line, 125, and nothing is stopped', async () => {
    await startDetached('s-bad-t', EXITS_42_ON_TERM)
    expectOneLineError(await cli(['containers', 'stop', '-t', 'soon', 's-bad-t']), /invalid --time "soon"/)
    expect((await listed('s-bad-t')).status).toBe('running')
  })
})

describe('ctr containers restart and start ID', () => {
  it('restart: a new process from the same record; the log keeps both runs and says it restarted', async () => {
    await startDetached('r-log', EXITS_42_ON_TERM)
    const before = await listed('r-log')
    const result = await cli(['containers', 'restart', '-t', '5', 'r-log'])
    expect(result).toMatchObject({code: 0, stdout: 'r-log\n', stderr: ''})
    const after = await listed('r-log')
    expect(after.status).toBe('running')
    expect(after.pid).not.toBe(before.pid)
    await eventually(async () => (await cli(['containers', 'logs', 'r-log'])).stdout.split('ready').length === 3, 'the second run in the log')
    const lines = (await cli(['containers', 'logs', 'r-log'])).stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(3)
    expect(lines[0]).toBe('ready')
    expect(lines[1]).toMatch(/^--- ctr: container r-log restarted at \d{4}-\d\d-\d\dT[\d:.]+Z ---$/)
    expect(lines[2]).toBe('ready')
  })

  it('start ID with no SOURCE starts a stopped container again, appending to its log', async () => {
    const result = await cli(['containers', 'start', 's-handle'])
    expect(result.code, result.stderr).toBe(0)
    expect((await listed('s-handle')).status).toBe('running')
    await eventually(async () => (await cli(['containers', 'logs', 's-handle'])).stdout.split('ready').length === 3, 'the second run in the log')
    const lines = (await cli(['containers', 'logs', 's-handle'])).stdout.split('\n').filter(Boolean)
    expect(lines[1]).toMatch(/^--- ctr: container s-handle started again at /)
    // Running already: left alone, not an error (as docker start).
    const again = await cli(['containers', 'start', 's-handle'])
    expect(again.code, again.stderr).toBe(0)
    expect((await cli(['containers', 'stop', '-t', '0', 's-handle'])).code).toBe(0)
  })

  it("start ID starts a container Go's ctr created (no task yet)", async () => {
    const bundle = await makeBundle(join(dir, 'go-made'), ['sh', '-c', 'sleep 100000'])
    const created = await f.go([
      'containers',
      'create',
      '--runtime',
      'io.containerd.runc.v2',
      '--env',
      'PATH=/bin',
      '--rootfs',
      join(bundle, 'rootfs'),
      'g-made',
      'sleep',
      '100000',
    ])
    expect(created.code, created.stderr).toBe(0)
    expect((await listed('g-made')).status).toBe('created')
    const result = await cli(['containers', 'start', 'g-made'])
    expect(result.code, result.stderr).toBe(0)
    expect((await f.goTasks()).get('g-made')?.status).toBe('RUNNING')
    expect((await cli(['containers', 'stop', '-t', '0', 'g-made'])).code).toBe(0)
  })

  it("start ID of a half-start: a dead ctr's is started afresh (mark cleared), a live one's refused", async () => {
    // Owner tokens (src/lib/owner.ts): <pid ns inode>.<pid>.<start time>; this test process is alive.
    const ns = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))![1]
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    const bundle = await makeBundle(join(dir, 'half'), ['sh', '-c', 'sleep 100000'])
    const create = (id: string, token: string) =>
      f.go([
        'containers',
        'create',
        '--runtime',
        'io.containerd.runc.v2',
        '--env',
        'PATH=/bin',
        '--label',
        `io.ctr.starting=${token}`,
        '--rootfs',
        join(bundle, 'rootfs'),
        id,
        'sleep',
        '100000',
      ])
    expect((await create('h-dead', `${ns}.${process.pid}.1`)).code).toBe(0)
    expect((await create('h-live', `${ns}.${process.pid}.${started}`)).code).toBe(0)
    const dead = await cli(['containers', 'start', 'h-dead'])
    expect(dead.code, dead.stderr).toBe(0)
    expect((await f.goTasks()).get('h-dead')?.status).toBe('RUNNING')
    expect(JSON.parse((await f.go(['containers', 'info', 'h-dead'])).stdout).Labels?.['io.ctr.starting']).toBeUndefined()
    expectOneLineError(await cli(['containers', 'start', 'h-live']), /container "h-live" is being started by another ctr/)
    expect((await f.goTasks()).has('h-live')).toBe(false)
    expect((await cli(['containers', 'delete', '--force', 'h-dead', 'h-live'])).code).toBe(0)
  })

  it('start ID with a creation flag, or an unknown ID: one line, 125', async () => {
    expectOneLineError(await cli(['containers', 'start', '--attach', 's-a']), /--attach is for creating a container/)
    expectOneLineError(await cli(['containers', 'start', 'r-nope']), /container "r-nope" not found/)
    expectOneLineError(await cli(['containers', 'restart', 'r-nope']), /container "r-nope" not found/)
    expect(await f.leftovers()).toEqual([])
  })
})

describe("--restart through containerd's restart monitor", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('always: a process killed from the host is started again (same log); stop stops it for good', async () => {
    const bundle = await makeBundle(join(dir, 'always'), ['sh', '-c', 'echo ready; exec sleep 100000'])
    const started = await cli(['containers', 'start', '--restart', 'always', 'p-always', bundle])
    expect(started.code, started.stderr).toBe(0)
    const labels = JSON.parse((await f.go(['containers', 'info', 'p-always'])).stdout).Labels
    expect(labels['containerd.io/restart.status']).toBe('running')
    expect(labels['containerd.io/restart.loguri']).toMatch(/^binary:\/\//)
    const first = (await f.goTasks()).get('p-always')!.pid
    process.kill(first, 'SIGKILL')
    // The monitor checks every 10 s (containerd's default).
    const deadline = Date.now() + 25_000
    let task = (await f.goTasks()).get('p-always')
    while (!(task?.status === 'RUNNING' && task.pid !== first) && Date.now() < deadline) {
      await sleep(250)
      task = (await f.goTasks()).get('p-always')
    }
    expect(task).toMatchObject({status: 'RUNNING'})
    expect(task!.pid).not.toBe(first)
    await sleep(300)
    expect((await cli(['containers', 'logs', 'p-always'])).stdout).toBe('ready\nready\n')
    expect((await cli(['containers', 'stop', '-t', '1', 'p-always'])).code).toBe(0)
    expect(JSON.parse((await f.go(['containers', 'info', 'p-always'])).stdout).Labels['containerd.io/restart.status']).toBe('stopped')
    await sleep(12_000)
    expect((await listed('p-always')).status).toBe('stopped')
  }, 60_000)

  it('bad policies, and on-failure on containerd 1.6: one line, 125, nothing created', async () => {
    const bundle = await makeBundle(join(dir, 'policy'), ['true'])
    expectOneLineError(await cli(['containers', 'start', '--restart', 'sometimes', 'p-bad', bundle]), /invalid --restart "sometimes"/)
    expectOneLineError(await cli(['containers', 'start', '--restart', 'on-failure:0', 'p-bad', bundle]), /invalid --restart "on-failure:0"/)
    expectOneLineError(await cli(['containers', 'start', '-a', '--restart', 'always', 'p-bad', bundle]), /--restart is for detached starts/)
    const version = (await f.go(['version'])).stdout
    if (/Server:[\s\S]*Version:\s+v?1\.6\./.test(version)) {
      expectOneLineError(await cli(['containers', 'start', '--restart', 'on-failure:3', 'p-bad', bundle]), /on-failure needs containerd 1\.7 or later/)
    }
    expect((await f.go(['containers', 'ls', '-q'])).stdout.split('\n')).not.toContain('p-bad')
  })
})
