/**
 * Verbs on several container IDs against the real private containerd (issue 26): the calls run
 * concurrently (three stops that each wait out their grace period take one period, not three), the output
 * keeps the order the IDs were given, one unknown ID is one line on stderr while the others are acted on,
 * and the exit status is the worst failure's. `containers info` takes several IDs too.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Fixture, setupFixture} from './containers-fixture'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture('several-ids')
})

afterAll(async () => {
  await f?.cleanup()
})

const lines = (text: string) => text.split('\n').filter(Boolean)

describe('several IDs', () => {
  it('stop: the grace periods run at once; each ID printed in the order given', async () => {
    // `sleep` as a PID namespace's init ignores SIGTERM (no handler), so each stop waits out -t, then SIGKILL.
    const ids = ['m-c', 'm-a', 'm-b']
    await Promise.all(ids.map((id) => f.run(id)))
    const began = Date.now()
    const result = await f.cli(['containers', 'stop', '-t', '3', ...ids])
    const took = Date.now() - began
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('m-c\nm-a\nm-b\n')
    expect(took).toBeGreaterThanOrEqual(3000)
    // In turn, three periods: 9 s at least.
    expect(took).toBeLessThan(7000)
    const deleted = await f.cli(['containers', 'delete', ...ids])
    expect(deleted.stdout).toBe('m-c\nm-a\nm-b\n')
  })

  it('delete --force with one unknown: one line for it, the others deleted, in order, exit 125', async () => {
    await Promise.all(['d-1', 'd-2', 'd-3'].map((id) => f.run(id)))
    const result = await f.cli(['containers', 'delete', '--force', 'd-2', 'd-gone', 'd-1', 'd-2', 'd-3'])
    expect(result.code).toBe(125)
    expect(result.stdout).toBe('d-2\nd-1\nd-3\n')
    expect(lines(result.stderr)).toEqual([`ctr: container "d-gone" not found in namespace "${f.namespace}"`])
    const left = await f.cli(['containers', '-q'])
    expect(lines(left.stdout).filter((id) => id.startsWith('d-'))).toEqual([])
  })

  it('info takes several IDs: one JSON object each, in order; an unknown one is one line, exit 125', async () => {
    await Promise.all(['i-1', 'i-2'].map((id) => f.run(id)))
    const result = await f.cli(['containers', 'info', 'i-2', 'i-gone', 'i-1'])
    expect(result.code).toBe(125)
    expect(lines(result.stderr)).toEqual([`ctr: container "i-gone" not found in namespace "${f.namespace}"`])
    const objects = result.stdout.split(/\n(?=\{)/).map((text) => JSON.parse(text) as {id: string; task: {status: string}})
    expect(objects.map((o) => [o.id, o.task.status])).toEqual([
      ['i-2', 'running'],
      ['i-1', 'running'],
    ])
    const json = await f.cli(['containers', 'info', '--json', 'i-1', 'i-2'])
    expect(json.code, json.stderr).toBe(0)
    expect((JSON.parse(json.stdout) as Array<{id: string}>).map((o) => o.id)).toEqual(['i-1', 'i-2'])
    // One ID: Go ctr's shape, one object.
    const one = await f.cli(['containers', 'info', 'i-1'])
    expect(JSON.parse(one.stdout)).toMatchObject({id: 'i-1'})
    await f.cli(['containers', 'delete', '--force', 'i-1', 'i-2'])
  })

  it('wait: statuses in the order given although the second exits first; exit status the first one’s', async () => {
    await f.run('w-slow', ['sh', '-c', 'sleep 2; exit 3'])
    await f.run('w-fast', ['sh', '-c', 'exit 4'])
    const result = await f.cli(['containers', 'wait', 'w-slow', 'w-fast'])
    expect(result.stdout).toBe('3\n4\n')
    expect(result.code, result.stderr).toBe(3)
    const failed = await f.cli(['containers', 'wait', 'w-gone', 'w-fast'])
    expect(failed.stdout).toBe('4\n')
    expect(failed.code).toBe(125)
    expect(lines(failed.stderr)).toHaveLength(1)
    await f.cli(['containers', 'delete', 'w-slow', 'w-fast'])
  })

  it('kill, pause and resume with one unknown: the others acted on, one line each run', async () => {
    await Promise.all(['p-1', 'p-2'].map((id) => f.run(id)))
    const paused = await f.cli(['containers', 'pause', 'p-1', 'p-gone', 'p-2'])
    expect(paused.code).toBe(125)
    expect(lines(paused.stderr)).toHaveLength(1)
    expect([...(await f.goTasks()).entries()].filter(([id]) => id.startsWith('p-')).map(([, t]) => t.status)).toEqual(['PAUSED', 'PAUSED'])
    const resumed = await f.cli(['containers', 'resume', 'p-gone', 'p-1', 'p-2'])
    expect(resumed.code).toBe(125)
    expect(lines(resumed.stderr)).toHaveLength(1)
    const killed = await f.cli(['containers', 'kill', '-s', 'KILL', 'p-1', 'p-gone', 'p-2'])
    expect(killed.code).toBe(125)
    expect(lines(killed.stderr)).toHaveLength(1)
    await f.cli(['containers', 'wait', 'p-1', 'p-2'])
    await f.cli(['containers', 'delete', 'p-1', 'p-2'])
    expect(await f.leftovers()).toEqual([])
  })
})
