/**
 * The library as a program uses it: the BUILT dist/index.js (what `require('@ctr-dev/ctr')` loads), typed
 * by src/index.ts, against the private containerd: version, start → list/get/ps/metrics/exec/pause/resume →
 * kill with the exit seen through events and wait → delete, and errors as CtrError.
 */
import {execFileSync} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {goCtr, uniqueName} from './helpers/daemon'
import {removeNamespace} from './helpers/leftovers'
import {PROBE_TOPIC, untilSubscribed} from './helpers/wait'

type Library = typeof import('../src/index')

const DIST = join(__dirname, '..', 'dist', 'index.js')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(DIST) as Library

const {address, bundle} = inject('containerd')
const namespace = uniqueName('it-library')
let ctr: InstanceType<Library['Containerd']>
let checkpointRoot: string

beforeAll(async () => {
  checkpointRoot = await mkdtemp(join(tmpdir(), 'ctr-it-library-'))
  ctr = new lib.Containerd({address, namespace, timeoutMs: 10_000, checkpointRoot})
})

afterAll(async () => {
  ctr?.close()
  await removeNamespace(address, namespace)
  await rm(checkpointRoot, {recursive: true, force: true})
})

describe('Containerd (dist/index.js)', () => {
  it('exports the class and the lib functions, without loading oclif', () => {
    expect(typeof lib.Containerd).toBe('function')
    expect(typeof lib.startContainer).toBe('function')
    const loaded = execFileSync(process.execPath, [
      '-e',
      `require(${JSON.stringify(DIST)}); console.log(Object.keys(require.cache).filter((p) => /@oclif|chalk|ora|string-width/.test(p)).length)`,
    ])
    expect(loaded.toString().trim()).toBe('0')
  })

  it('reports the client and daemon versions', async () => {
    const info = await ctr.version()
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(info.client.version).toBe(require('../package.json').version)
    const go = await goCtr(address, ['version'])
    expect(go.stdout).toContain(info.server.version)
    expect(info.server.version).toMatch(/^v?\d+\.\d+\.\d+/)
  })

  it('starts, lists, inspects, signals and deletes a container', async () => {
    const id = 'lib-redis'
    const started = await ctr.containers.start({id, bundle})
    expect(started).toMatchObject({id, namespace, terminal: false})
    expect(started.pid).toBeGreaterThan(0)

    const listed = await ctr.containers.list()
    expect(listed.map((c) => [c.id, c.status, c.pid])).toEqual([[id, 'running', started.pid]])
    expect(await ctr.containers.list(['status=stopped'])).toEqual([])
    expect(await ctr.containers.get(id)).toMatchObject({id, status: 'running', bundle: expect.stringContaining(bundle.split('/').pop()!)})
    // The same task Go's ctr sees.
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'ls'])).stdout).toMatch(new RegExp(`^${id}\\s+${started.pid}\\s+RUNNING`, 'm'))

    const sample = await ctr.metrics(id)
    expect(sample.id).toBe(id)
    expect(sample.memoryUsage).toBeGreaterThan(0)
    expect(sample.pids).toBeGreaterThanOrEqual(1)

    const exec = await ctr.tasks.exec({id, execId: 'lib-sleeper', args: ['sleep', '1000']})
    expect(exec.pid).toBeGreaterThan(0)
    const processes = await ctr.tasks.ps(id)
    expect(processes).toEqual(
      expect.arrayContaining([expect.objectContaining({pid: started.pid, init: true}), expect.objectContaining({pid: exec.pid, execId: 'lib-sleeper'})]),
    )

    await ctr.tasks.pause(id)
    expect((await ctr.containers.get(id)).status).toBe('paused')
    await ctr.tasks.resume(id)
    expect((await ctr.containers.get(id)).status).toBe('running')

    // The exit arrives as an event and through wait, 128+9.
    const abort = new AbortController()
    const events: Array<{topic: string; type: string; id?: string; status?: number}> = []
    const watching = (async () => {
      for await (const event of ctr.events.subscribe({id, signal: abort.signal, reconnect: false})) {
        events.push(event)
        if (event.type === 'exit' && !event.execId) break
      }
    })()
    await untilSubscribed(address, namespace, id, () => events.some((e) => e.topic === PROBE_TOPIC))
    const waiting = ctr.tasks.wait(id)
    expect(await ctr.tasks.kill(id, {signal: 'KILL'})).toMatchObject({id, signal: 9})
    expect((await waiting).exitStatus).toBe(137)
    await Promise.race([watching, new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit event; got ${JSON.stringify(events)}`)), 10_000))])
    abort.abort()
    expect(events.find((e) => e.type === 'exit' && e.id === id)).toMatchObject({status: 137})

    expect(await ctr.containers.delete(id)).toEqual({id})
    expect(await ctr.containers.list()).toEqual([])
  })

  it('fails with CtrError naming the thing', async () => {
    const missing = await ctr.containers.get('lib-missing').catch((error) => error)
    expect(missing).toBeInstanceOf(lib.CtrError)
    expect(missing).toMatchObject({kind: 'not-found', exitCode: 125})
    expect(missing.message).toContain('lib-missing')
    await expect(ctr.tasks.kill('lib-missing')).rejects.toMatchObject({kind: 'not-found'})
    await expect(ctr.metrics('lib-missing')).rejects.toMatchObject({kind: 'not-found'})
    await expect(ctr.containers.start({id: 'lib-bad', bundle: join(checkpointRoot, 'no-bundle')})).rejects.toThrow(/no-bundle/)
    expect(await ctr.containers.list()).toEqual([])
    const unreachable = new lib.Containerd({address: join(checkpointRoot, 'missing.sock'), timeoutMs: 1000})
    await expect(unreachable.version()).rejects.toMatchObject({kind: 'unavailable'})
    unreachable.close()
  })

  it('benchmarks starts and leaves nothing behind', async () => {
    const result = await ctr.bench({bundle, count: 3, concurrency: 2, prefix: 'lib-bench'})
    expect(result).toMatchObject({requested: 3, concurrency: 2, interrupted: false, cleanedUp: 3})
    expect(result.startMs.count).toBe(3)
    expect(result.startMs.min).toBeGreaterThan(0)
    expect(result.startMs.max).toBeGreaterThanOrEqual(result.startMs.min)
    expect(await ctr.containers.list()).toEqual([])
  })

  it('lists and deletes checkpoints in its own store', async () => {
    await ctr.containers.start({id: 'lib-ckpt', bundle})
    expect(await ctr.checkpoints.list('lib-ckpt')).toEqual([])
    await expect(ctr.checkpoints.delete('lib-ckpt', 'nope')).rejects.toMatchObject({kind: 'not-found'})
    await ctr.containers.delete('lib-ckpt', {force: true})
  })
})
