/**
 * `ctr containers start --attach` against the real private containerd: stdout and stderr to the right
 * streams, complete; stdin in, EOF passed on; ctr's exit code is the container's (128+N for signals);
 * signals ctr receives reach the container unless --no-sig-proxy; --rm; no FIFO directory left behind.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {exited, LineReader} from '../helpers/line-reader'
import {eventually, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string

beforeAll(async () => {
  f = await setupFixture('attach')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-attach-bundles-'))
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

let bundles = 0
const bundle = (args: string[]) => makeBundle(join(dir, `b${++bundles}`), args)
const TRAPS = ['sh', '-c', 'trap "echo got INT; exit 7" INT; trap "echo got TERM; exit 8" TERM; echo ready; while true; do sleep 0.1; done']

async function containerIds(): Promise<string[]> {
  return (await f.go(['containers', 'list', '-q'])).stdout.split('\n').filter(Boolean)
}

describe('ctr containers start --attach', () => {
  it('prints stdout and stderr to the right streams and exits with the container code; the task is deleted', async () => {
    const b = await bundle(['sh', '-c', 'echo out; echo err >&2; exit 3'])
    const result = await f.cli(['containers', 'start', '--attach', 'a-streams', b])
    expect(result).toMatchObject({code: 3, stdout: 'out\n', stderr: 'err\n'})
    expect((await f.goTasks()).has('a-streams')).toBe(false)
    // Without --rm the container stays, stopped.
    const [listed] = JSON.parse((await f.cli(['containers', '--json', '--filter', 'id=a-streams'])).stdout)
    expect(listed).toMatchObject({id: 'a-streams', status: 'stopped', pid: 0})
    expect(await f.leftovers()).toEqual([])
  })

  it('pipes stdin in and passes EOF on: two lines through cat, exit 0; --rm removes the container', async () => {
    const b = await bundle(['cat'])
    const result = await f.cli(['containers', 'start', '-a', '--rm', 'a-cat', b], {input: 'first line\nsecond line\n'})
    expect(result).toMatchObject({code: 0, stdout: 'first line\nsecond line\n', stderr: ''})
    expect(await containerIds()).not.toContain('a-cat')
    expect(await f.leftovers()).toEqual([])
  })

  it('copies all output before exiting (100000 lines written just before the exit)', async () => {
    const b = await bundle(['seq', '1', '100000'])
    const result = await f.cli(['containers', 'start', '-a', '--rm', 'a-seq', b])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(100000)
    expect(lines.at(-1)).toBe('100000')
  })

  it('exits 128+N when the container is killed by signal N', async () => {
    const b = await bundle(['sleep', '100000'])
    const child = f.spawn(['containers', 'start', '-a', '--rm', 'a-killed', b])
    await eventually(async () => (await f.goTasks()).get('a-killed')?.status === 'RUNNING', 'a-killed to run')
    await f.go(['tasks', 'kill', '-s', 'KILL', 'a-killed'])
    expect(await exited(child)).toEqual({code: 137, signal: null})
    expect(await containerIds()).not.toContain('a-killed')
  })

  it.each([
    ['SIGINT', 7, 'got INT'],
    ['SIGTERM', 8, 'got TERM'],
  ] as const)('forwards %s to the container', async (signal, code, said) => {
    const b = await bundle(TRAPS)
    const id = `a-${signal.toLowerCase()}`
    const child = f.spawn(['containers', 'start', '-a', '--rm', id, b])
    const out = new LineReader(child.stdout!)
    await out.waitFor(/^ready$/)
    child.kill(signal)
    await out.waitFor(new RegExp(`^${said}$`))
    expect(await exited(child)).toEqual({code, signal: null})
    expect(await containerIds()).not.toContain(id)
    expect(await f.leftovers()).toEqual([])
  })

  it('--no-sig-proxy: an interrupt detaches ctr (130) and leaves the container running', async () => {
    const b = await bundle(TRAPS)
    const child = f.spawn(['containers', 'start', '-a', '--no-sig-proxy', 'a-noproxy', b])
    const out = new LineReader(child.stdout!)
    await out.waitFor(/^ready$/)
    child.kill('SIGINT')
    expect(await exited(child)).toEqual({code: 130, signal: null})
    expect(out.text).not.toContain('got INT')
    expect((await f.goTasks()).get('a-noproxy')?.status).toBe('RUNNING')
    expect(await f.leftovers()).toEqual([])
    expect((await f.cli(['containers', 'rm', '--force', 'a-noproxy'])).code).toBe(0)
  })

  it('a command that exits at once is not missed (Wait is set up before Start)', async () => {
    const b = await bundle(['true'])
    for (let i = 0; i < 3; i++) {
      const result = await f.cli(['containers', 'start', '-a', '--rm', `a-fast-${i}`, b], {timeoutMs: 15_000})
      expect(result).toMatchObject({code: 0, stdout: '', stderr: ''})
    }
  })
})
