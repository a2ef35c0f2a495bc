/**
 * `ctr containers pause` / `resume` against the real private containerd, cross-checked with Go's ctr.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture('pause')
  await f.run('p-a')
  await f.run('p-b')
})

afterAll(async () => {
  await f?.cleanup()
})

const status = async (id: string) => (await f.goTasks()).get(id)?.status

describe('ctr containers pause / resume', () => {
  it('pause → PAUSED (the process stops running), resume → RUNNING', async () => {
    const paused = await f.cli(['containers', 'pause', 'p-a'])
    expect(paused).toMatchObject({code: 0, stdout: '', stderr: ''})
    expect(await status('p-a')).toBe('PAUSED')
    expect(await status('p-b')).toBe('RUNNING')
    const ps = await f.cli(['containers', 'ps', 'p-a'])
    expect(ps.stdout).toMatch(/^\d+\s+p-a\s+paused$/m)
    // No exec into a frozen container: it would hang.
    expectOneLineError(await f.cli(['containers', 'exec', '-a', '--id', 'p-a', '--', 'true']), /^ctr: container "p-a" is paused$/m)
    expect(await f.leftovers()).toEqual([])

    const resumed = await f.cli(['containers', 'resume', 'p-a'])
    expect(resumed).toMatchObject({code: 0, stdout: '', stderr: ''})
    expect(await status('p-a')).toBe('RUNNING')
    expect((await f.cli(['containers', 'exec', '-a', '--id', 'p-a', '--', 'true'])).code).toBe(0)
  })

  it('several IDs at once, --json lists the ones done', async () => {
    const paused = await f.cli(['containers', 'pause', '--json', 'p-a', 'p-b'])
    expect(paused.code, paused.stderr).toBe(0)
    expect(JSON.parse(paused.stdout)).toEqual([{id: 'p-a'}, {id: 'p-b'}])
    expect(await status('p-a')).toBe('PAUSED')
    expect(await status('p-b')).toBe('PAUSED')
    expect((await f.cli(['containers', 'resume', 'p-a', 'p-b'])).code).toBe(0)
    expect(await status('p-a')).toBe('RUNNING')
    expect(await status('p-b')).toBe('RUNNING')
  })

  it('errors are one line naming the container; the others are still acted on', async () => {
    expectOneLineError(await f.cli(['containers', 'resume', 'p-a']), /container "p-a": cannot resume a running process/)
    const result = await f.cli(['containers', 'pause', 'p-missing', 'p-a'])
    expectOneLineError(result, /container "p-missing" not found/)
    expect(await status('p-a')).toBe('PAUSED')
    expectOneLineError(await f.cli(['containers', 'pause', 'p-a']), /container "p-a": cannot pause a paused container/)
    expect((await f.cli(['containers', 'resume', 'p-a'])).code).toBe(0)
    expectOneLineError(await f.cli(['containers', 'pause']), /missing argument ID/)
  })
})
