/**
 * `ctr containers stats` against the real private containerd (cgroup v1 here). Containers are made with Go's
 * ctr (`run -d --rootfs`), independent of our own start command.
 */
import {createHash} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, goRunDetached, startPrivateContainerd, uniqueName} from '../helpers/daemon'
import {exited, LineReader} from '../helpers/line-reader'
import {removeNamespace} from '../helpers/leftovers'
import {runInPty} from '../helpers/pty'
import {CLI, cliEnv, runCli, spawnCli} from '../helpers/run-cli'

const {address} = inject('containerd')
const namespace = uniqueName('it-stats')
let tmp: string
let rootfs: string

async function run(id: string, args: string[] = ['sleep', '1000']) {
  const result = await goRunDetached(address, namespace, rootfs, id, args)
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

/** Where each cell of a line starts (cells are at least three spaces apart and have single spaces inside). */
const starts = (line: string) => [...line.matchAll(/(?<=^| {3})\S/g)].map((m) => m.index)
/** A 64-hex ID, as Kubernetes names containers. */
const hexId = (seed: string) => createHash('sha256').update(`${namespace}/${seed}`).digest('hex')

describe('ctr containers stats: column widths, paused, the live view on a terminal', () => {
  const long = hexId('long')

  beforeAll(async () => {
    await run(long)
  })

  it('piped: columns fit their content, a 64-character ID keeps them aligned, a short-ID row is within 100 columns', async () => {
    const mixed = await stats(['--no-stream', long, 'st-a'])
    expect(mixed.code, mixed.stderr).toBe(0)
    const lines = mixed.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[1].startsWith(`${long}   `)).toBe(true)
    const header = starts(lines[0])
    expect(header).toHaveLength(7)
    expect(header[1]).toBe(64 + 3)
    for (const line of lines) expect(starts(line), line).toEqual(header)

    const short = await stats(['--no-stream', 'st-a'])
    expect(short.code, short.stderr).toBe(0)
    const shortLines = short.stdout.trimEnd().split('\n')
    expect(starts(shortLines[1])).toEqual(starts(shortLines[0]))
    expect(starts(shortLines[0])[1]).toBe('st-a'.length + 3)
    for (const line of shortLines) expect(line.length, line).toBeLessThanOrEqual(100)
    console.log(
      `stats widths: short-ID header/row ${shortLines.map((l) => l.length).join('/')}; with a 64-character ID ${lines.map((l) => l.length).join('/')}`,
    )
  })

  it('a paused container shows paused in the CPU % column; memory, I/O and pids keep their values; JSON keeps its state', async () => {
    await run('st-p')
    const paused = await runCli(['containers', 'pause', 'st-p'], {address, namespace})
    expect(paused.code, paused.stderr).toBe(0)
    try {
      const result = await stats(['--no-stream', 'st-a', 'st-p'])
      expect(result.code, result.stderr).toBe(0)
      const lines = result.stdout.trimEnd().split('\n')
      const row = lines.find((l) => l.startsWith('st-p'))
      expect(row, result.stdout).toMatch(/^st-p\s+paused\s+[\d.]+(B|KiB|MiB) \/ [\d.]+(KiB|MiB|GiB|TiB)\s+\d+\.\d\d%\s+--\s+\S+ \/ \S+\s+1$/)
      expect(lines.find((l) => l.startsWith('st-a'))).toMatch(/^st-a\s+\d+\.\d\d%\s/)
      for (const line of lines) expect(starts(line), line).toEqual(starts(lines[0]))

      const json = await stats(['--no-stream', '--json', 'st-p'])
      expect(json.code, json.stderr).toBe(0)
      const o = JSON.parse(json.stdout)
      expect(o).toMatchObject({id: 'st-p', state: 'paused', pids: 1})
      expect(o.memoryUsage).toBeGreaterThan(0)
    } finally {
      expect((await runCli(['containers', 'resume', 'st-p'], {address, namespace})).code).toBe(0)
    }
  })

  it('on a small terminal, redraws in place: IDs shortened, no line wider than the window, at most rows-1 lines', async () => {
    // 10 containers (half of them with 64-hex IDs) on an 8×100 terminal, then the window narrowed to 60.
    const extra = [hexId('t1'), hexId('t2'), hexId('t3'), hexId('t4'), 'st-t1', 'st-t2', 'st-t3', 'st-t4']
    for (const id of extra) await run(id)
    const ids = [long, 'st-a', ...extra]
    const result = await runInPty([process.execPath, CLI, 'containers', 'stats', '--interval', '200ms', ...ids], {
      env: cliEnv({address, namespace}),
      size: [8, 100],
      steps: [{wait: '5 more'}, {wait: '5 more', resize: [8, 60]}, {wait: '…\r\n', signal: 'INT'}],
    })
    expect(result.pendingSteps, result.output).toBe(0)
    expect(result.code).toBe(130)
    // Frames: the first as it is, each next one after "up N lines, clear below".
    const parts = result.output.split(/\x1b\[(\d+)A\r\x1b\[J/)
    const frames = parts.filter((_, i) => i % 2 === 0).map((f) => f.split('\r\n').slice(0, -1))
    const ups = parts.filter((_, i) => i % 2 === 1).map(Number)
    expect(frames.length).toBeGreaterThanOrEqual(3)
    frames.forEach((frame, i) => {
      expect(frame, frame.join('\n')).toHaveLength(7)
      expect(frame[0]).toMatch(/^ID\s+CPU %/)
      expect(frame[6]).toBe('… 5 more (enlarge the window, or use --json)')
      for (const line of frame) expect(line.length, line).toBeLessThanOrEqual(100)
      if (i > 0) expect(ups[i - 1]).toBe(frames[i - 1].length)
    })
    const wide = frames[0]
    expect(wide[1], wide.join('\n')).toMatch(/^[0-9a-f]{11,62}… /)
    expect(wide[2]).toMatch(/^st-a /)
    for (const line of wide.slice(0, 6)) expect(starts(line), line).toEqual(starts(wide[0]))
    const narrow = frames.at(-1)!
    for (const line of narrow) expect(line.length, line).toBeLessThanOrEqual(60)
    expect(narrow[1], narrow.join('\n')).toMatch(/^[0-9a-f]{11}… /)
    expect(narrow.some((l) => l.length === 60 && l.endsWith('…'))).toBe(true)
    console.log(
      `stats on an 8×100 terminal: ${frames.length} frames; widest line ${Math.max(...wide.map((l) => l.length))}; after narrowing to 60: ${Math.max(...narrow.map((l) => l.length))}`,
    )
  }, 60_000)
})

describe('ctr containers stats across a daemon outage (own private containerd)', () => {
  it('reports the outage on stderr and goes on when containerd is back', async () => {
    const daemon = await startPrivateContainerd()
    try {
      const started = await goRunDetached(daemon, namespace, rootfs, 'st-x')
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
