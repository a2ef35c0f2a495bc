/**
 * `ctr containers ps` against the real private containerd: the init PID matches Go's ctr, exec processes
 * show with their exec IDs, their children with '-'; -q and --json.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {waitUntil} from '../helpers/wait'
import {expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture('ps')
  await f.run('ps-a')
})

afterAll(async () => {
  await f?.cleanup()
})

describe('ctr containers ps', () => {
  it('lists the init PID (as Go ctr reports it) and exec processes with their exec IDs', async () => {
    const init = (await f.goTasks()).get('ps-a')!.pid
    expect((await f.cli(['containers', 'exec', '--id', 'ps-a', '--exec-id', 'worker', '--', 'sh', '-c', 'sleep 1000 & wait'])).code).toBe(0)
    expect((await f.cli(['containers', 'exec', '--id', 'ps-a', '--exec-id', 'single', '--', 'sleep', '1000'])).code).toBe(0)

    const json = await f.cli(['containers', 'ps', '--json', 'ps-a'])
    expect(json.code, json.stderr).toBe(0)
    const processes = JSON.parse(json.stdout) as Array<{pid: number; execId: string; init: boolean; status?: string}>
    expect(processes[0]).toEqual({pid: init, execId: 'ps-a', init: true, status: 'running'})
    const worker = processes.find((p) => p.execId === 'worker')!
    const single = processes.find((p) => p.execId === 'single')!
    expect(worker).toMatchObject({init: false, status: 'running'})
    expect(single).toMatchObject({init: false, status: 'running'})
    // worker's `sleep` child is a process of the container but of no exec of its own.
    const others = processes.filter((p) => !p.init && !p.execId)
    expect(others).toHaveLength(1)
    expect(others[0].status).toBeUndefined()
    expect(processes).toHaveLength(4)

    // The same PIDs as Go's ctr.
    const goPids = (await f.go(['tasks', 'ps', 'ps-a'])).stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(/\s+/)[0]))
    expect(processes.map((p) => p.pid).sort()).toEqual(goPids.sort())

    const table = await f.cli(['containers', 'ps', 'ps-a'])
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^PID\s+EXEC ID\s+STATUS$/)
    expect(lines[1]).toMatch(new RegExp(`^${init}\\s+ps-a\\s+running$`))
    expect(table.stdout).toMatch(new RegExp(`^${worker.pid}\\s+worker\\s+running$`, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^${others[0].pid}\\s+-\\s+-$`, 'm'))

    const quiet = await f.cli(['containers', 'ps', '-q', 'ps-a'])
    expect(quiet.stdout).toBe(processes.map((p) => `${p.pid}\n`).join(''))
  })

  it('unknown or stopped containers are a one-line error', async () => {
    expectOneLineError(await f.cli(['containers', 'ps', 'ps-missing']), /container "ps-missing" not found/)
    await f.run('ps-done', ['true'])
    await waitUntil(async () => (await f.goTasks()).get('ps-done')?.status === 'STOPPED', {what: 'ps-done to exit'})
    await f.go(['tasks', 'delete', 'ps-done'])
    expectOneLineError(await f.cli(['containers', 'ps', 'ps-done']), /container "ps-done" has no running task/)
  })
})
