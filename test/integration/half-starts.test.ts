/**
 * Starts from an image under a lease (issue 21 item 6), and what a SIGKILLed ctr leaves (item 13): many
 * detached starts at once beside garbage collections all succeed; a ctr killed mid-start leaves a container,
 * a snapshot, a lease or a FIFO directory that `prune` (or the next start with that ID) removes.
 */
import {type ChildProcess} from 'node:child_process'
import {mkdtemp, readdir} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ContainersDefinition} from '../../src/gen/containerd/services/containers/v1/containers'
import {SnapshotsDefinition} from '../../src/gen/containerd/services/snapshots/v1/snapshots'
import {buildImage, busyboxLayer, writeOciArchive} from '../helpers/image-archive'
import {spawnCli} from '../helpers/run-cli'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

type Library = typeof import('../../src/index')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(join(__dirname, '..', '..', 'dist', 'index.js')) as Library

const NAME = 'docker.io/library/halfstart:1'
let f: ImagesFixture
let archive: string

beforeAll(async () => {
  f = await setupImagesFixture('half-starts')
  archive = join(f.dir, 'image.tar')
  await writeOciArchive(archive, [
    {image: await buildImage({layers: [await busyboxLayer()], config: {Env: ['PATH=/bin'], Cmd: ['sleep', '1000']}}), name: NAME},
  ])
})

afterAll(async () => {
  await f?.cleanup()
})

async function imported(tag: string): Promise<{ns: string; before: Awaited<ReturnType<ImagesFixture['state']>>}> {
  const ns = f.namespace(tag)
  const result = await f.cli(ns, ['images', 'import', archive])
  expect(result.code, result.stderr).toBe(0)
  return {ns, before: await f.state(ns)}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())))
}

/** Polls (every 2 ms, through the library) until `seen` says so; false if ctr finished first. */
async function watch(child: ChildProcess, seen: () => Promise<boolean>): Promise<boolean> {
  let done = false
  void exited(child).then(() => (done = true))
  while (!done) {
    if (await seen().catch(() => false)) return true
    await sleep(2)
  }
  return false
}

describe('starts from an image under a lease', () => {
  it('60 detached starts at once, beside forced garbage collections, all succeed', {timeout: 240_000}, async () => {
    const {ns, before} = await imported('many')
    const ids = Array.from({length: 60}, (_, i) => `c${i}`)
    let starting = true
    const collections = (async () => {
      let n = 0
      while (starting) {
        await f.gc()
        n++
      }
      return n
    })()
    const results = await Promise.all(ids.map((id) => f.cli(ns, ['containers', 'start', '--no-log', id, NAME, 'true'], {timeoutMs: 200_000})))
    starting = false
    expect(await collections).toBeGreaterThan(0)
    const failed = results.map((r, i) => [ids[i], r.code, r.stderr.trim()]).filter(([, code]) => code !== 0)
    expect(failed).toEqual([])
    const pruned = await f.cli(ns, ['containers', 'prune'], {timeoutMs: 200_000})
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await f.state(ns)).toEqual(before)
  })
})

describe('after a SIGKILL mid-start', () => {
  let client: InstanceType<Library['ContainerdClient']>
  const clients: Array<InstanceType<Library['ContainerdClient']>> = []
  const connect = (ns: string) => {
    client = new lib.ContainerdClient({address: f.address, namespace: ns})
    clients.push(client)
    return client
  }
  afterAll(() => clients.forEach((c) => c.close()))

  const containerExists = (c: typeof client, id: string) => () =>
    c
      .service(ContainersDefinition)
      .get({id})
      .then(() => true)
  const snapshotExists = (c: typeof client, id: string) => () =>
    c
      .service(SnapshotsDefinition)
      .stat({snapshotter: 'overlayfs', key: id})
      .then(() => true)

  it('killed once its container record exists, before its process runs: prune removes the container, its snapshot and its lease', async () => {
    const {ns, before} = await imported('record')
    const c = connect(ns)
    let caught = 0
    for (let attempt = 0; attempt < 10 && caught < 2; attempt++) {
      const id = `k${attempt}`
      const child = spawnCli(['containers', 'start', '--no-log', id, NAME], {address: f.address, namespace: ns})
      if (await watch(child, containerExists(c, id))) {
        child.kill('SIGSTOP')
        const tasks = (await f.go(ns, ['tasks', 'ls'])).stdout
        child.kill('SIGKILL')
        await exited(child)
        // Too late (its process already runs): a real container, prune must keep it.
        if (tasks.includes(`${id} `) && /RUNNING/.test(tasks.split('\n').find((l) => l.startsWith(`${id} `)) ?? '')) {
          await f.go(ns, ['tasks', 'kill', '-s', 'KILL', id])
          await sleep(200)
          continue
        }
        caught++
      } else await exited(child)
    }
    expect(caught).toBeGreaterThan(0)
    const pruned = await f.cli(ns, ['containers', 'prune'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await f.state(ns)).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('killed after Snapshots.Prepare: the next start with the same ID succeeds, prune leaves nothing', async () => {
    const {ns, before} = await imported('snapshot')
    const c = connect(ns)
    const child = spawnCli(['containers', 'start', '--no-log', 's1', NAME], {address: f.address, namespace: ns})
    expect(await watch(child, snapshotExists(c, 's1'))).toBe(true)
    child.kill('SIGKILL')
    await exited(child)
    const again = await f.cli(ns, ['containers', 'start', '--no-log', 's1', NAME, 'true'])
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    const pruned = await f.cli(ns, ['containers', 'prune'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await f.state(ns)).toEqual(before)
  })

  it('an attached start killed: its FIFO directory goes at the next attached start, and at prune', async () => {
    const {ns, before} = await imported('fifos')
    const tmp = await mkdtemp(join(f.dir, 'tmp-'))
    const env = {TMPDIR: tmp}
    const child = spawnCli(['containers', 'start', '-a', '--rm', 'a1', NAME, 'sleep', '1000'], {address: f.address, namespace: ns, env})
    expect(await watch(child, async () => (await readdir(tmp)).length > 0)).toBe(true)
    child.kill('SIGKILL')
    await exited(child)
    expect(await readdir(tmp)).toHaveLength(1)
    const next = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'a2', NAME, 'true'], {env})
    expect(next.code, next.stderr).toBe(0)
    expect(await readdir(tmp)).toEqual([])

    const second = spawnCli(['containers', 'start', '-a', '--rm', 'a3', NAME, 'sleep', '1000'], {address: f.address, namespace: ns, env})
    expect(await watch(second, async () => (await readdir(tmp)).length > 0)).toBe(true)
    second.kill('SIGKILL')
    await exited(second)
    await f.go(ns, ['tasks', 'kill', '-s', 'KILL', 'a1']).catch(() => undefined)
    await f.go(ns, ['tasks', 'kill', '-s', 'KILL', 'a3']).catch(() => undefined)
    await sleep(300)
    const pruned = await f.cli(ns, ['containers', 'prune'], {env})
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await readdir(tmp)).toEqual([])
    expect(await f.state(ns)).toEqual(before)
  })
})
