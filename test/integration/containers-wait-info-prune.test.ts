/**
 * `containers wait`, `containers info` and `containers prune` against the real private containerd, checked
 * with Go's ctr: wait's exit statuses (0, 3, 137) and exit code, info against Go ctr's `containers info`,
 * prune deleting the stopped (and their logs) and keeping the running.
 */
import {mkdir, mkdtemp, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {LineReader} from '../helpers/line-reader'
import {eventually, expectOneLineError, type Fixture, setupFixture, sleep} from './containers-fixture'

let f: Fixture
let dir: string
let logDir: string
const cli = (args: string[]) => f.cli(args, {env: {CTR_LOG_DIR: logDir}})
const bundle = (name: string, script: string) => makeBundle(join(dir, name), ['sh', '-c', script])
const start = async (id: string, b: string) => {
  const result = await cli(['containers', 'start', id, b])
  expect(result.code, result.stderr).toBe(0)
}
const goContainers = async () => (await f.go(['containers', 'list', '-q'])).stdout.split('\n').filter(Boolean).sort()

beforeAll(async () => {
  f = await setupFixture('wip')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-wip-'))
  logDir = join(dir, 'logs')
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('ctr containers wait', () => {
  it('prints 0 and exits 0 for a task that exits 0; 3 and 3 for exit 3', async () => {
    await start('w-zero', await bundle('zero', 'sleep 0.5; exit 0'))
    await start('w-three', await bundle('three', 'sleep 0.5; exit 3'))
    expect(await cli(['containers', 'wait', 'w-zero'])).toMatchObject({code: 0, stdout: '0\n', stderr: ''})
    expect(await cli(['containers', 'wait', 'w-three'])).toMatchObject({code: 3, stdout: '3\n', stderr: ''})
  })

  it('blocks until the task is killed: 137 for SIGKILL', async () => {
    await start('w-kill', await bundle('kill', 'exec sleep 100000'))
    const child = f.spawn(['containers', 'wait', 'w-kill'])
    const out = new LineReader(child.stdout!)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await sleep(500)
    expect(child.exitCode).toBeNull()
    expect((await cli(['containers', 'kill', '-s', 'KILL', 'w-kill'])).code).toBe(0)
    expect(await exited).toBe(137)
    expect(out.lines).toEqual(['137'])
  })

  it("several IDs: one status per line in the order given, exit with the first one's", async () => {
    expect(await cli(['containers', 'wait', 'w-three', 'w-zero', 'w-kill'])).toMatchObject({code: 3, stdout: '3\n0\n137\n', stderr: ''})
    expect(await cli(['containers', 'wait', 'w-zero', 'w-three'])).toMatchObject({code: 0, stdout: '0\n3\n'})
    const json = await cli(['containers', 'wait', '--json', 'w-three'])
    expect(JSON.parse(json.stdout)).toEqual([{id: 'w-three', exitStatus: 3, exitedAt: expect.any(String)}])
  })

  it('an unknown ID or one with no task: one line, exit 125; the others are still waited for', async () => {
    expectOneLineError(await cli(['containers', 'wait', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"$/m)
    const done = await bundle('attached', 'true')
    expect((await cli(['containers', 'start', '-a', 'w-notask', done])).code).toBe(0)
    expectOneLineError(await cli(['containers', 'wait', 'w-notask']), /^ctr: container "w-notask" is not running \(it has no task\)$/m)
    const mixed = await cli(['containers', 'wait', 'w-three', 'nope'])
    expect(mixed).toMatchObject({code: 125, stdout: '3\n', stderr: `ctr: container "nope" not found in namespace "${f.namespace}"\n`})
  })
})

function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmpty)
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, withoutEmpty(v)] as const)
      .filter(
        ([, v]) =>
          v !== false && v !== '' && v !== null && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && v && Object.keys(v).length === 0),
      )
    return Object.fromEntries(entries)
  }
  return value
}

/** Go ctr's `containers info` next to ours: the same record, in Go's field names. */
async function compareWithGo(id: string): Promise<{ours: any; go: any}> {
  const ours = await cli(['containers', 'info', id])
  expect(ours.code, ours.stderr).toBe(0)
  const go = await f.go(['containers', 'info', id])
  expect(go.code, go.stderr).toBe(0)
  const o = JSON.parse(ours.stdout)
  const g = JSON.parse(go.stdout)
  expect(o.id).toBe(g.ID)
  expect(o.labels).toEqual(g.Labels ?? {})
  expect(o.image).toBe(g.Image)
  expect(o.runtime.name).toBe(g.Runtime.Name)
  if (g.Runtime.Options) expect(o.runtime.options.typeUrl).toBe(g.Runtime.Options.type_url)
  else expect(o.runtime.options).toBeNull()
  expect(o.snapshotter).toBe(g.Snapshotter)
  expect(o.snapshotKey).toBe(g.SnapshotKey)
  // Go prints nanoseconds, a JS Date holds milliseconds.
  expect(new Date(o.createdAt).getTime()).toBe(Math.floor(new Date(g.CreatedAt).getTime()))
  expect(new Date(o.updatedAt).getTime()).toBe(Math.floor(new Date(g.UpdatedAt).getTime()))
  expect(o.extensions).toEqual(g.Extensions ?? {})
  // Go decodes the spec into its struct and re-encodes it, dropping `omitempty` zero values (terminal:
  // false, readonly: false); ours is the JSON containerd holds. Equal once those are dropped on both sides.
  expect(withoutEmpty(o.spec)).toEqual(withoutEmpty(g.Spec))
  return {ours: o, go: g}
}

describe('ctr containers info', () => {
  it('matches Go ctr for a container ctr started, plus the log path and the task', async () => {
    await start('i-ours', await bundle('info', 'exec sleep 100000'))
    const {ours} = await compareWithGo('i-ours')
    expect(ours.logPath).toBe(join(logDir, f.namespace, 'i-ours.log'))
    const task = (await f.goTasks()).get('i-ours')!
    expect(ours.task).toMatchObject({status: 'running', pid: task.pid, terminal: false, stdin: ''})
  })

  it('matches Go ctr for a container Go ctr made (runc options, no log), and an exited task', async () => {
    await f.run('i-go', ['sh', '-c', 'exit 4'])
    await eventually(async () => (await f.goTasks()).get('i-go')?.status === 'STOPPED', 'i-go to exit')
    const {ours} = await compareWithGo('i-go')
    expect(ours.runtime.options).toMatchObject({typeUrl: 'containerd.runc.v1.Options'})
    expect(ours.logPath).toBeNull()
    expect(ours.task).toMatchObject({status: 'stopped', exitStatus: 4})
  })

  it('a container without a task: task null; --json prints the same', async () => {
    expect((await cli(['containers', 'start', '-a', 'i-notask', await bundle('notask', 'true')])).code).toBe(0)
    const plain = await cli(['containers', 'info', 'i-notask'])
    expect(JSON.parse(plain.stdout).task).toBeNull()
    expect(JSON.parse((await cli(['containers', 'info', '--json', 'i-notask'])).stdout)).toEqual(JSON.parse(plain.stdout))
  })

  it('an unknown ID: one line, exit 125', async () => {
    expectOneLineError(await cli(['containers', 'info', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"$/m)
  })
})

describe('ctr containers prune', () => {
  it('deletes every stopped container (and its log), prints the IDs, keeps the running ones', async () => {
    // Start from a clean namespace: earlier tests left stopped and running containers behind.
    expect((await cli(['containers', 'rm', '-f', ...(await goContainers())])).code).toBe(0)
    await start('p-running', await bundle('p-running', 'exec sleep 100000'))
    await start('p-exited', await bundle('p-exited', 'echo bye'))
    expect((await cli(['containers', 'start', '-a', 'p-notask', await bundle('p-notask', 'true')])).code).toBe(0)
    await f.run('p-go-exited', ['true'])
    await eventually(async () => {
      const tasks = await f.goTasks()
      return tasks.get('p-exited')?.status === 'STOPPED' && tasks.get('p-go-exited')?.status === 'STOPPED'
    }, 'the exits')
    const log = join(logDir, f.namespace, 'p-exited.log')
    expect((await stat(log)).isFile()).toBe(true)

    const result = await cli(['containers', 'prune'])
    expect(result).toMatchObject({code: 0, stdout: 'p-exited\np-go-exited\np-notask\n', stderr: ''})
    expect(await goContainers()).toEqual(['p-running'])
    expect((await f.goTasks()).get('p-running')?.status).toBe('RUNNING')
    await expect(stat(log)).rejects.toThrow(/ENOENT/)
    expect(await cli(['containers', 'prune'])).toMatchObject({code: 0, stdout: ''})
  })

  it('--filter narrows it as the list does; --json returns the IDs', async () => {
    const fifos = join(dir, 'go-fifo')
    await mkdir(fifos, {recursive: true})
    for (const [id, app] of [
      ['p-web', 'web'],
      ['p-db', 'db'],
    ]) {
      const run = await f.go([
        'run',
        '-d',
        '--fifo-dir',
        fifos,
        '--label',
        `app=${app}`,
        '--env',
        'PATH=/bin',
        '--runtime',
        'io.containerd.runc.v2',
        '--rootfs',
        join(dir, 'p-running', 'rootfs'),
        id,
        'true',
      ])
      expect(run.code, run.stderr).toBe(0)
    }
    await eventually(async () => {
      const tasks = await f.goTasks()
      return tasks.get('p-web')?.status === 'STOPPED' && tasks.get('p-db')?.status === 'STOPPED'
    }, 'the exits')
    const result = await cli(['containers', 'prune', '--json', '--filter', 'label=app=web'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([{id: 'p-web'}])
    expect(await goContainers()).toEqual(['p-db', 'p-running'])
    expectOneLineError(await cli(['containers', 'prune', '--filter', 'colour=red']), /^ctr: invalid --filter "colour=red"/m)
    expect(await goContainers()).toEqual(['p-db', 'p-running'])
  })
})
