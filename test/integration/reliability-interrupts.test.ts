/**
 * Reliability: SIGINT/SIGTERM to ctr while it runs. Attached commands forward the signal (the process
 * decides how to exit, ctr exits with its code); streaming commands exit 130/143 without error text; bench
 * cleans up what it started. Always promptly, never a FIFO directory left in the CLI's TMPDIR, containers in
 * a defined state. Each case has a namespace of its own, so the cases run concurrently.
 */
import {type ChildProcess} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, uniqueName} from '../helpers/daemon'
import {goContainers, goTaskIds, leftovers, makeSandbox, removeNamespace, type Sandbox} from '../helpers/leftovers'
import {runCli, spawnCli} from '../helpers/run-cli'

const {address} = inject('containerd')
const TRAPS = "trap 'echo got INT; exit 7' INT; trap 'echo got TERM; exit 8' TERM; echo ready; while :; do sleep 0.1; done"
let root: string
let sleeper: string
let trapper: string
const namespaces: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-it-rel-int-'))
  ;[sleeper, trapper] = await Promise.all([makeBundle(join(root, 'sleeper'), ['sleep', '100000']), makeBundle(join(root, 'trapper'), ['sh', '-c', TRAPS])])
})

afterAll(async () => {
  await Promise.all(namespaces.map((ns) => removeNamespace(address, ns)))
  if (root) await rm(root, {recursive: true, force: true})
})

interface Run {
  child: ChildProcess
  out: () => string
  err: () => string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null; ms: number}>
  waitFor(pattern: RegExp, ms?: number): Promise<void>
  signalledAt: number
}

function launch(args: string[], namespace: string, box: Sandbox): Run {
  const child = spawnCli(args, {address, namespace, env: box.env})
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d) => (err += d))
  const run: Run = {
    child,
    out: () => out,
    err: () => err,
    signalledAt: 0,
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal, ms: Date.now() - run.signalledAt}))),
    async waitFor(pattern, ms = 10_000) {
      const deadline = Date.now() + ms
      while (!pattern.test(out + err)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never saw ${pattern}; stdout: ${out} stderr: ${err}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
  }
  return run
}

async function signalAndWait(run: Run, signal: NodeJS.Signals, ms = 10_000) {
  run.signalledAt = Date.now()
  run.child.kill(signal)
  const timer = new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))
  const end = await Promise.race([run.exited, timer])
  if (end === 'hang') run.child.kill('SIGKILL')
  return end
}

async function setup(name: string) {
  const namespace = uniqueName(`it-rel-int-${name}`)
  namespaces.push(namespace)
  return {namespace, box: await makeSandbox(root)}
}

const SIGNALS = [
  ['SIGINT', 7, 'INT', 130],
  ['SIGTERM', 8, 'TERM', 143],
] as const

describe.concurrent('interrupts', () => {
  it.each(SIGNALS)('start --attach, %s: forwarded, the container exits as it chooses; record kept, task gone, no FIFOs', async (signal, code, name) => {
    const {namespace, box} = await setup('start')
    const run = launch(['containers', 'start', '--attach', 'i-start', trapper], namespace, box)
    await run.waitFor(/^ready$/m)
    const end = await signalAndWait(run, signal)
    expect(end, run.err()).toMatchObject({code, signal: null})
    expect(run.out()).toMatch(new RegExp(`^got ${name}$`, 'm'))
    expect(run.err()).toBe('')
    // Without --rm the container stays (stopped: no task), as after any attached run.
    expect(await goContainers(address, namespace)).toEqual(['i-start'])
    expect(await goTaskIds(address, namespace)).toEqual([])
    expect(await leftovers(address, namespace, box, {keep: ['i-start']})).toEqual([])
  })

  it.each(SIGNALS)('exec --attach, %s: forwarded to the process; the container keeps running; no FIFOs', async (signal, code, name) => {
    const {namespace, box} = await setup('exec')
    expect((await runCli(['containers', 'start', 'i-exec', sleeper], {address, namespace, env: box.env})).code).toBe(0)
    const run = launch(['containers', 'exec', '--attach', '--exec-id', 'trap', '--id', 'i-exec', '--', 'sh', '-c', TRAPS], namespace, box)
    await run.waitFor(/^ready$/m)
    const end = await signalAndWait(run, signal)
    expect(end, run.err()).toMatchObject({code, signal: null})
    expect(run.out()).toMatch(new RegExp(`^got ${name}$`, 'm'))
    expect(run.err()).toBe('')
    const ps = await goCtr(address, ['-n', namespace, 'tasks', 'ps', 'i-exec'])
    expect(ps.stdout).not.toMatch(/\btrap\b/) // the exec process was deleted
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'ls'])).stdout).toMatch(/^i-exec\s+\d+\s+RUNNING/m)
    expect(await leftovers(address, namespace, box, {keep: ['i-exec']})).toEqual([])
  })

  it.each(SIGNALS)('stats, %s: exits 128+N (130 or 143) quietly, the container untouched', async (signal, _code, _name, exit) => {
    const {namespace, box} = await setup('stats')
    expect((await runCli(['containers', 'start', 'i-stats', sleeper], {address, namespace, env: box.env})).code).toBe(0)
    const run = launch(['containers', 'stats', '--interval', '200ms', 'i-stats'], namespace, box)
    await run.waitFor(/i-stats/)
    const end = await signalAndWait(run, signal, 5000)
    expect(end).toMatchObject({code: exit, signal: null})
    expect((end as {ms: number}).ms).toBeLessThan(2000)
    expect(run.err()).toBe('')
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'ls'])).stdout).toMatch(/^i-stats\s+\d+\s+RUNNING/m)
    expect(await leftovers(address, namespace, box, {keep: ['i-stats']})).toEqual([])
  })

  it.each(SIGNALS)('events, %s: exits 128+N (130 or 143) quietly', async (signal, _code, _name, exit) => {
    const {namespace, box} = await setup('events')
    const run = launch(['events', '--header'], namespace, box)
    await run.waitFor(/^TYPE/m)
    const end = await signalAndWait(run, signal, 5000)
    expect(end).toMatchObject({code: exit, signal: null})
    expect((end as {ms: number}).ms).toBeLessThan(2000)
    expect(run.err()).toBe('')
    expect(await leftovers(address, namespace, box)).toEqual([])
  })

  it.each(SIGNALS)('bench, %s: stops launching, removes every container it made, exits 128+N (130 or 143)', async (signal, _code, _name, exit) => {
    const {namespace, box} = await setup('bench')
    const run = launch(['bench', '--count', '200', '--concurrency', '4', '--prefix', 'ib', sleeper], namespace, box)
    // Interrupt once a few containers exist.
    const deadline = Date.now() + 15_000
    while ((await goContainers(address, namespace)).length < 3) {
      if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`bench never got going: ${run.err()}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const end = await signalAndWait(run, signal, 20_000)
    expect(end, run.err()).toMatchObject({code: exit, signal: null})
    expect(run.err()).not.toMatch(/^\s+at /m)
    expect(await leftovers(address, namespace, box)).toEqual([])
  })

  it.each([0, 50, 100, 150, 200, 300])(
    'detached start, SIGINT after %i ms: either started (0, running) or interrupted (130) with nothing left',
    async (delay) => {
      const {namespace, box} = await setup('detached')
      const run = launch(['containers', 'start', 'i-det', sleeper], namespace, box)
      await new Promise((r) => setTimeout(r, delay))
      const end = await signalAndWait(run, 'SIGINT')
      expect(run.err()).not.toMatch(/^\s+at /m)
      if (end !== 'hang' && end.code === 0) {
        expect(await goTaskIds(address, namespace)).toEqual(['i-det'])
        expect((await goCtr(address, ['-n', namespace, 'tasks', 'ls'])).stdout).toMatch(/^i-det\s+\d+\s+RUNNING/m)
        expect(await leftovers(address, namespace, box, {keep: ['i-det']})).toEqual([])
      } else {
        // Killed by the signal before ctr installed its handler (node's default) also counts as interrupted.
        expect([
          {code: 130, signal: null},
          {code: null, signal: 'SIGINT'},
        ]).toContainEqual({code: (end as any).code, signal: (end as any).signal})
        expect(await leftovers(address, namespace, box)).toEqual([])
      }
    },
  )
})
