/**
 * `ctr containers stats` against the real private containerd (cgroup v1 here). Containers are made with Go's
 * ctr (`run -d --rootfs`), independent of our own start command.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, startPrivateContainerd, uniqueName} from '../helpers/daemon'
import {exited, LineReader} from '../helpers/line-reader'
import {removeNamespace} from '../helpers/leftovers'
import {runCli, spawnCli} from '../helpers/run-cli'

const {address} = inject('containerd')
const namespace = uniqueName('it-stats')
let tmp: string
let rootfs: string

async function run(id: string, args: string[] = ['sleep', '1000']) {
  const result = await goCtr(address, [
    '-n',
    namespace,
    'run',
    '-d',
    '--runtime',
    'io.containerd.runc.v2',
    '--env',
    'PATH=/bin',
    '--rootfs',
    rootfs,
    id,
    ...args,
  ])
  expect(result.code, result.stderr).toBe(0)
}

const stats = (args: string[]) => runCli(['containers', 'stats', ...args], {address, namespace})

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-it-stats-'))
  rootfs = join(await makeBundle(join(tmp, 'bundle')), 'rootfs')
  // Two processes in st-a: pids must count them all.
  await run('st-a', ['sh', '-c', 'sleep 1000 & exec sleep 1000'])
})

afterAll(async () => {
  await removeNamespace(address, namespace)
  await rm(tmp, {recursive: true, force: true})
})

describe('ctr containers stats', () => {
  it('--no-stream prints one row with non-zero memory and the pids', async () => {
    const t0 = Date.now()
    const result = await stats(['--no-stream', 'st-a'])
    const took = Date.now() - t0
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^ID\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/)
    const m = /^st-a\s+(\d+\.\d\d)%\s+([\d.]+)(B|KiB|MiB|GiB) \/ ([\d.]+)(KiB|MiB|GiB|TiB)\s+(\d+\.\d\d)%\s+--\s+\S+ \/ \S+\s+(\d+)$/.exec(lines[1])
    expect(m, lines[1]).not.toBeNull()
    expect(Number(m![2])).toBeGreaterThan(0)
    expect(Number(m![7])).toBe(2)
    console.log(`stats --no-stream: ${took} ms; row: ${lines[1]}`)
  })

  it('--json --no-stream gives one parsable object per container; no IDs means every running one', async () => {
    const result = await stats(['--json', '--no-stream'])
    expect(result.code, result.stderr).toBe(0)
    const objects = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const a = objects.find((o) => o.id === 'st-a')
    expect(a).toMatchObject({id: 'st-a', state: 'running', pids: 2, memoryLimit: null})
    expect(a.memoryUsage).toBeGreaterThan(0)
    expect(a.cpuPercent).toBeGreaterThanOrEqual(0)
  })

  it('streams NDJSON line by line; a container that stops shows as stopped while the others go on', async () => {
    await run('st-b')
    const child = spawnCli(['containers', 'stats', '--json', '--interval', '200ms', 'st-a', 'st-b'], {address, namespace})
    const out = new LineReader(child.stdout!)
    const err = new LineReader(child.stderr!)
    await out.waitFor((l) => l.includes('"id":"st-b"') && l.includes('"running"'))
    const seen = out.lines.length
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'kill', '-s', 'KILL', 'st-b'])).code).toBe(0)
    await out.waitFor((l) => l.includes('"id":"st-b"') && l.includes('"stopped"'), 10_000, seen)
    const stoppedAt = out.lines.findIndex((l, i) => i >= seen && l.includes('"stopped"'))
    await out.waitFor((l) => l.includes('"id":"st-a"'), 5000, stoppedAt + 1)
    expect(child.exitCode).toBeNull()
    for (const line of out.lines.filter(Boolean)) {
      const o = JSON.parse(line)
      expect(['st-a', 'st-b']).toContain(o.id)
      if (o.id === 'st-a') expect(o).toMatchObject({state: 'running', pids: 2})
    }
    child.kill('SIGINT')
    expect(await exited(child)).toEqual({code: 130, signal: null})
    expect(err.text).toBe('')
  })

  it('appends rows with the header once when piped', async () => {
    const child = spawnCli(['containers', 'stats', '--interval', '150ms', 'st-a'], {address, namespace})
    const out = new LineReader(child.stdout!)
    await out.waitFor(/^st-a/)
    const first = out.lines.findIndex((l) => l.startsWith('st-a'))
    await out.waitFor(/^st-a/, 5000, first + 1)
    child.kill('SIGINT')
    await exited(child)
    expect(out.lines.filter((l) => l.startsWith('ID '))).toHaveLength(1)
    expect(out.text).not.toMatch(/\x1b\[/)
  })

  it('fails at once, naming them, for unknown containers', async () => {
    const result = await stats(['--no-stream', 'st-a', 'nope-1', 'nope-2'])
    expect(result.code).toBe(125)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(`ctr: containers "nope-1", "nope-2" not found in namespace "${namespace}"\n`)
  })

  it('refuses a bad --interval', async () => {
    const result = await stats(['--interval', '10ms', 'st-a'])
    expect(result.code).toBe(125)
    expect(result.stderr).toMatch(/^ctr: invalid --interval "10ms"/)
  })
})

describe('ctr containers stats across a daemon outage (own private containerd)', () => {
  it('reports the outage on stderr and goes on when containerd is back', async () => {
    const daemon = await startPrivateContainerd()
    try {
      const started = await goCtr(daemon, [
        '-n',
        namespace,
        'run',
        '-d',
        '--runtime',
        'io.containerd.runc.v2',
        '--env',
        'PATH=/bin',
        '--rootfs',
        rootfs,
        'st-x',
        'sleep',
        '1000',
      ])
      expect(started.code, started.stderr).toBe(0)
      const child = spawnCli(['containers', 'stats', '--json', '--interval', '200ms', 'st-x'], {address: daemon.address, namespace})
      const out = new LineReader(child.stdout!)
      const err = new LineReader(child.stderr!)
      await out.waitFor(/"id":"st-x"/)
      daemon.kill('SIGKILL')
      await err.waitFor(/^ctr: cannot connect to containerd at .*; retrying every interval…$/, 5000)
      const seen = out.lines.length
      await daemon.restart()
      await err.waitFor(/^ctr: containerd answers again$/, 10_000)
      await out.waitFor((l) => l.includes('"id":"st-x"') && l.includes('"running"'), 5000, seen)
      expect(child.exitCode).toBeNull()
      child.kill('SIGINT')
      expect(await exited(child)).toEqual({code: 130, signal: null})
      expect(err.lines.filter(Boolean)).toHaveLength(2)
    } finally {
      await daemon.stop()
    }
  }, 60_000)
})
