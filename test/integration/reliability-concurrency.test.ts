/**
 * Reliability under concurrency, and the FIFO directory's security: many `ctr containers start` processes
 * at once (distinct IDs: all succeed; one ID: exactly one wins, the rest fail in one line, nothing extra
 * left), racing deletes, and the private 0700, unpredictably named FIFO directory of an attached start.
 */
import {lstat, mkdtemp, readdir, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, uniqueName} from '../helpers/daemon'
import {errorShape, goContainers, goTaskIds, leftovers, makeSandbox, removeNamespace} from '../helpers/leftovers'
import {runCli, spawnCli} from '../helpers/run-cli'

const {address} = inject('containerd')
let root: string
let sleeper: string
const namespaces: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-it-rel-conc-'))
  sleeper = await makeBundle(join(root, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await Promise.all(namespaces.map((ns) => removeNamespace(address, ns)))
  if (root) await rm(root, {recursive: true, force: true})
}, 60_000)

function newNamespace(name: string): string {
  const namespace = uniqueName(`it-rel-conc-${name}`)
  namespaces.push(namespace)
  return namespace
}

const running = async (namespace: string) => {
  const {stdout} = await goCtr(address, ['-n', namespace, 'tasks', 'ls'])
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => /\sRUNNING$/.test(l.trim()))
    .map((l) => l.trim().split(/\s+/)[0])
    .sort()
}

describe.concurrent('many ctr processes at once', () => {
  it('50 starts with distinct IDs all succeed; a forced delete of all 50 leaves nothing', async () => {
    const namespace = newNamespace('50')
    const box = await makeSandbox(root)
    const ids = Array.from({length: 50}, (_, i) => `c50-${i}`)
    const results = await Promise.all(ids.map((id) => runCli(['containers', 'start', id, sleeper], {address, namespace, env: box.env, timeoutMs: 60_000})))
    const failures = results.map((r, i) => [ids[i], r.code, r.stderr] as const).filter(([, code]) => code !== 0)
    expect(failures).toEqual([])
    expect(await running(namespace)).toEqual(ids.slice().sort())
    expect(await readdir(box.tmp)).toEqual([])
    const removed = await runCli(['containers', 'delete', '--force', ...ids], {address, namespace, env: box.env, timeoutMs: 60_000})
    expect(removed.code, removed.stderr).toBe(0)
    expect(await leftovers(address, namespace, box)).toEqual([])
  }, 90_000)

  it('15 starts with the SAME ID: exactly one succeeds, the rest fail in one line; one container, one task', async () => {
    const namespace = newNamespace('same')
    const box = await makeSandbox(root)
    const results = await Promise.all(
      Array.from({length: 15}, () => runCli(['containers', 'start', 'same', sleeper], {address, namespace, env: box.env, timeoutMs: 60_000})),
    )
    const winners = results.filter((r) => r.code === 0)
    const losers = results.filter((r) => r.code !== 0)
    expect(winners).toHaveLength(1)
    for (const loser of losers) {
      expect(errorShape(loser), loser.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(loser.stderr).toMatch(/"same".*already exists/)
    }
    expect(await goContainers(address, namespace)).toEqual(['same'])
    expect(await running(namespace)).toEqual(['same'])
    expect(await leftovers(address, namespace, box, {keep: ['same']})).toEqual([])
  }, 90_000)

  it('10 attached starts with the same ID: one runs to its exit code, the rest fail in one line, no FIFOs left', async () => {
    const namespace = newNamespace('same-a')
    const box = await makeSandbox(root)
    const bundle = await makeBundle(join(root, 'sleep1-exit3'), ['sh', '-c', 'sleep 1; exit 3'])
    const results = await Promise.all(
      Array.from({length: 10}, () => runCli(['containers', 'start', '--attach', 'same-a', bundle], {address, namespace, env: box.env, timeoutMs: 60_000})),
    )
    expect(results.filter((r) => r.code === 3)).toHaveLength(1)
    for (const loser of results.filter((r) => r.code !== 3)) {
      expect(errorShape(loser), loser.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(loser.stderr).toMatch(/"same-a".*already exists/)
    }
    expect(await goContainers(address, namespace)).toEqual(['same-a'])
    expect(await goTaskIds(address, namespace)).toEqual([])
    expect(await leftovers(address, namespace, box, {keep: ['same-a']})).toEqual([])
  }, 90_000)

  it('10 forced deletes of one running container race: it is gone, every loser says so in one line', async () => {
    const namespace = newNamespace('rm')
    const box = await makeSandbox(root)
    expect((await runCli(['containers', 'start', 'victim', sleeper], {address, namespace, env: box.env})).code).toBe(0)
    const results = await Promise.all(
      Array.from({length: 10}, () => runCli(['containers', 'delete', '--force', 'victim'], {address, namespace, env: box.env, timeoutMs: 60_000})),
    )
    expect(results.filter((r) => r.code === 0).length).toBeGreaterThanOrEqual(1)
    for (const loser of results.filter((r) => r.code !== 0)) {
      expect(errorShape(loser), loser.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(loser.stderr).toMatch(/"victim"/)
    }
    expect(await leftovers(address, namespace, box)).toEqual([])
  }, 90_000)
})

describe('the FIFO directory of an attached start', () => {
  it('is one private 0700 directory with an unpredictable name, holding 0600 FIFOs, removed at exit', async () => {
    const namespace = newNamespace('fifo')
    const box = await makeSandbox(root)
    const bundle = await makeBundle(join(root, 'fifo-reader'), ['sh', '-c', 'echo ready; read line; echo "got $line"'])
    const seen: {name: string; mode: number; fifos: [string, number, boolean][]}[] = []
    for (const id of ['fifo-a', 'fifo-a2']) {
      const child = spawnCli(['containers', 'start', '--attach', '--rm', id, bundle], {address, namespace, env: box.env})
      let out = ''
      child.stdout!.setEncoding('utf8').on('data', (d) => (out += d))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      const deadline = Date.now() + 10_000
      while (!out.includes('ready')) {
        if (Date.now() > deadline) throw new Error('container never got ready')
        await new Promise((r) => setTimeout(r, 25))
      }
      const entries = await readdir(box.tmp)
      expect(entries).toHaveLength(1)
      const dir = join(box.tmp, entries[0])
      const info = await lstat(dir)
      expect(info.isDirectory()).toBe(true)
      const fifos: [string, number, boolean][] = []
      for (const name of await readdir(dir)) {
        const s = await stat(join(dir, name))
        fifos.push([name, s.mode & 0o777, s.isFIFO()])
      }
      seen.push({name: entries[0], mode: info.mode & 0o777, fifos})
      child.stdin!.end('hello\n')
      expect(await exited).toBe(0)
      expect(out).toContain('got hello')
      expect(await readdir(box.tmp)).toEqual([])
    }
    for (const {name, mode, fifos} of seen) {
      expect(mode.toString(8)).toBe('700')
      // Unpredictable: a random part of at least 6 characters, not derived from the container ID.
      expect(name).not.toContain('fifo-a')
      expect(name).toMatch(/[A-Za-z0-9]{6,}$/)
      expect(fifos.length).toBeGreaterThanOrEqual(2)
      for (const [fifo, fifoMode, isFifo] of fifos) {
        expect(isFifo, fifo).toBe(true)
        expect(fifoMode.toString(8), fifo).toBe('600')
      }
    }
    expect(seen[0].name).not.toBe(seen[1].name)
    expect(await leftovers(address, namespace, box)).toEqual([])
  }, 60_000)
})
