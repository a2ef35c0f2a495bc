/**
 * Issue 22: no process outlives ctr. A detached exec is marked on the container and nothing of ctr's waits for
 * it; the next ctr that touches the container (ps, exec, delete --exec-id) records the exits and deletes the
 * exited processes. ctr's own processes are found by lineage: every ctr here runs with a random token in its
 * environment, which whatever it starts inherits (containerd's shims and the container's processes do not:
 * containerd starts those).
 */
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
const token = `CTR_TEST_LINEAGE=${randomBytes(8).toString('hex')}`
const env = {CTR_TEST_LINEAGE: token.split('=')[1]}

beforeAll(async () => {
  f = await setupFixture('exec-detached')
})

afterAll(async () => {
  await f?.cleanup()
})

/** Live processes started by one of this file's ctr commands (any depth): their environment has the token. */
function ctrDescendants(): string[] {
  const found: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(token)) continue
      found.push(`${entry}: ${readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ')}`)
    } catch {
      // gone meanwhile
    }
  }
  return found
}

type Proc = {pid: number; execId: string; status: string; exitStatus?: number; exitedAt?: string}
const cli = (args: string[]) => f.cli(args, {env})
const psAll = async (id: string) => {
  const result = await cli(['containers', 'ps', '--all', '--json', id])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Proc[]
}
/** The PIDs Go's ctr lists for the task: live processes only. */
const goPids = async (id: string) => (await f.go(['tasks', 'ps', id])).stdout.trim().split('\n').length - 1

describe('detached execs: nothing of ctr waits for them', () => {
  it('10 detached sleep 1000 leave no ctr or node process; killed ones show in ps --all with their status; Go ctr can take their IDs', async () => {
    await f.run('d1')
    const names = Array.from({length: 10}, (_, i) => `s${i}`)
    for (const name of names)
      expect(await cli(['containers', 'exec', '--id', 'd1', '--exec-id', name, 'sleep', '1000'])).toMatchObject({code: 0, stdout: `${name}\n`})
    expect(ctrDescendants()).toEqual([])
    expect(await goPids('d1')).toBe(11)

    const signals: Array<[string, string, number]> = [
      ['s0', 'KILL', 137],
      ['s1', 'TERM', 143],
      ['s2', 'HUP', 129],
      ['s3', 'USR1', 138],
    ]
    for (const [name, signal] of signals) expect((await cli(['containers', 'kill', '--exec-id', name, '--signal', signal, 'd1'])).code).toBe(0)
    await eventually(async () => (await goPids('d1')) === 7, 'the four to exit')
    const ps = await psAll('d1')
    expect(ps.filter((p) => p.status === 'running').map((p) => p.execId)).toEqual(['d1', 's4', 's5', 's6', 's7', 's8', 's9'])
    const exited = Object.fromEntries(ps.filter((p) => p.status === 'stopped').map((p) => [p.execId, p.exitStatus]))
    expect(exited).toEqual(Object.fromEntries(signals.map(([name, , status]) => [name, status])))
    for (const p of ps.filter((p) => p.status === 'stopped')) expect(Date.parse(p.exitedAt!)).toBeGreaterThan(Date.now() - 60_000)
    // Read once, kept: containerd no longer has them, ctr's records do.
    expect(await psAll('d1')).toEqual(ps)
    // Deleted from containerd: Go's ctr, which cannot reuse an ID still held, takes each of them.
    for (const [name] of signals) expect((await f.go(['tasks', 'exec', '--exec-id', name, 'd1', 'true'])).code).toBe(0)
    // The marks of the reaped ones went with them; the running ones keep theirs.
    const {labels} = JSON.parse((await cli(['containers', 'info', '--json', 'd1'])).stdout) as {labels: Record<string, string>}
    const marks = Object.keys(labels)
      .filter((key) => key.startsWith('io.ctr.exec.'))
      .sort()
    expect(marks).toEqual(names.slice(4).map((name) => `io.ctr.exec.${name}`))
    expect(ctrDescendants()).toEqual([])
    expect(await f.leftovers()).toEqual([])
  })

  it('an exec ID is used again: an exited one at once (detached or attached), a running one is refused', async () => {
    await f.run('d2')
    expect((await cli(['containers', 'exec', '--id', 'd2', '--exec-id', 'job', 'sh', '-c', 'exit 3'])).code).toBe(0)
    await eventually(async () => (await goPids('d2')) === 1, '"job" to exit')
    // exec itself reaps it first: the ID is free, and its old record goes once the new process exists
    expect((await cli(['containers', 'exec', '--id', 'd2', '--exec-id', 'job', 'sh', '-c', 'exit 4'])).code).toBe(0)
    await eventually(async () => (await psAll('d2')).some((p) => p.execId === 'job' && p.exitStatus === 4), 'exit 4 of "job"')
    expect((await psAll('d2')).filter((p) => p.execId === 'job')).toHaveLength(1)
    expect(await cli(['containers', 'exec', '--id', 'd2', '-a', '--exec-id', 'job', 'echo', 'ok'])).toMatchObject({code: 0, stdout: 'ok\n'})
    expect((await psAll('d2')).map((p) => p.execId)).toEqual(['d2'])
    expect((await cli(['containers', 'exec', '--id', 'd2', '--exec-id', 'long', 'sleep', '1000'])).code).toBe(0)
    expectOneLineError(await cli(['containers', 'exec', '--id', 'd2', '--exec-id', 'long', 'true']), /container "d2" already has a running exec process "long"/)
    // a detached exec that cannot start leaves no mark (nor process) behind
    expect((await cli(['containers', 'exec', '--id', 'd2', '--exec-id', 'bad', '/nosuch'])).code).toBe(127)
    const {labels} = JSON.parse((await cli(['containers', 'info', '--json', 'd2'])).stdout) as {labels: Record<string, string>}
    expect(Object.keys(labels).filter((key) => key.startsWith('io.ctr.exec.'))).toEqual(['io.ctr.exec.long'])
    expect((await f.go(['tasks', 'exec', '--exec-id', 'bad', 'd2', 'true'])).code).toBe(0)
    expect(ctrDescendants()).toEqual([])
  })

  it('ctrs reaping the same exits at once record each exit once and delete every process', async () => {
    await f.run('d3')
    const names = ['r0', 'r1', 'r2', 'r3', 'r4']
    for (const [i, name] of names.entries()) expect((await cli(['containers', 'exec', '--id', 'd3', '--exec-id', name, 'sh', '-c', `exit ${i}`])).code).toBe(0)
    await eventually(async () => (await goPids('d3')) === 1, 'the five to exit')
    const results = await Promise.all(Array.from({length: 4}, () => cli(['containers', 'ps', '--all', '--json', 'd3'])))
    for (const result of results) expect(result.code, result.stderr).toBe(0)
    const ps = await psAll('d3')
    expect(Object.fromEntries(ps.map((p) => [p.execId, p.exitStatus ?? null]))).toEqual({
      d3: null,
      r0: 0,
      r1: 1,
      r2: 2,
      r3: 3,
      r4: 4,
    })
    const {labels} = JSON.parse((await cli(['containers', 'info', '--json', 'd3'])).stdout) as {labels: Record<string, string>}
    expect(Object.keys(labels).filter((key) => key.startsWith('io.ctr.exec.'))).toEqual([])
    for (const name of names) expect((await f.go(['tasks', 'exec', '--exec-id', name, 'd3', 'true'])).code).toBe(0)
  })
})
