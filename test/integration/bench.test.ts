/**
 * `ctr bench` against the real private containerd: the seed's statistics table, --json, and nothing left
 * behind (Go ctr sees no container and no task in the namespace) after a run, a failing bundle or Ctrl-C.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {LineReader} from '../helpers/line-reader'
import {expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let sleeper: string

beforeAll(async () => {
  f = await setupFixture('bench')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-bench-bundles-'))
  sleeper = await makeBundle(join(dir, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

async function expectNothingLeft(): Promise<void> {
  expect((await f.go(['containers', 'list', '-q'])).stdout.trim()).toBe('')
  expect((await f.goTasks()).size).toBe(0)
  expect(await f.leftovers()).toEqual([])
}

describe('ctr bench', () => {
  it('--count 20 --concurrency 4 prints the statistics table and leaves no container or task', async () => {
    const result = await f.cli(['bench', '--count', '20', '--concurrency', '4', sleeper], {timeoutMs: 120_000})
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines.map((l) => l.split(':')[0])).toEqual(['count', 'min', 'max', 'mean', 'stddev', 'median', '75%', '95%', '99%', '99.9%', 'rate'])
    expect(lines[0]).toMatch(/^count:\s+20$/)
    const ms = (label: string) => Number(new RegExp(`^${label.replace('.', '\\.')}:\\s+([\\d.]+)ms$`, 'm').exec(result.stdout)![1])
    expect(ms('min')).toBeGreaterThan(0)
    expect(ms('min')).toBeLessThanOrEqual(ms('median'))
    expect(ms('median')).toBeLessThanOrEqual(ms('95%'))
    expect(ms('95%')).toBeLessThanOrEqual(ms('max'))
    expect(result.stdout).toMatch(/^rate:\s+[\d.]+ containers\/s$/m)
    await expectNothingLeft()
  })

  it('--json returns the figures for programs, with the prefix it used', async () => {
    const result = await f.cli(['bench', '-c', '3', '-C', '2', '--prefix', 'bj', '--json', sleeper], {timeoutMs: 60_000})
    expect(result.code).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json).toMatchObject({prefix: 'bj', requested: 3, concurrency: 2, interrupted: false, cleanedUp: 3})
    expect(json.startMs.count).toBe(3)
    expect(json.startMs.rate).toBeGreaterThan(0)
    await expectNothingLeft()
  })

  it('a failing bundle (its command does not exist): one-line error, exit 125, nothing left', async () => {
    const broken = await makeBundle(join(dir, 'broken'), ['/no/such/program'])
    const result = await f.cli(['bench', '--count', '6', '--concurrency', '3', broken], {timeoutMs: 60_000})
    expectOneLineError(result, /no\/such\/program/)
    await expectNothingLeft()
  })

  it('a missing bundle: one-line error, exit 125', async () => {
    const result = await f.cli(['bench', '--count', '2', join(dir, 'missing')])
    expectOneLineError(result, /does not exist/)
    await expectNothingLeft()
  })

  it('Ctrl-C stops launching, waits for the starts under way, cleans up, exits 130', async () => {
    const child = f.spawn(['bench', '--count', '500', '--concurrency', '2', '--prefix', 'bint', sleeper])
    const out = new LineReader(child.stdout!)
    // Wait until at least one container runs, then interrupt.
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !(await f.go(['containers', 'list', '-q'])).stdout.trim()) await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    expect(code).toBe(130)
    await out.waitFor(/^count:\s+\d+$/)
    await expectNothingLeft()
  })
})
