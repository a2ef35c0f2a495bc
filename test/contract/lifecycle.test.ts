/**
 * The process lifecycle of start and exec (lib/tasks/process.ts, lib/containerd/undo.ts) against the
 * recording fake containerd, no root and no daemon: each roll-back step (a failure at Containers.Create,
 * Tasks.Create, Tasks.Exec, Start, Wait), an abort (Ctrl-C) at each point, a silent daemon, a lost
 * connection; and the signal hand-off across Tasks.Start through the built CLI. The requests the fake saw
 * say what was undone, and in which order.
 */
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as grpc from '@grpc/grpc-js'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {ContainerdClient} from '../../src/lib/containerd/client'
import {CtrError} from '../../src/lib/containerd/errors'
import {execProcess} from '../../src/lib/tasks/exec'
import type {ProcessIo} from '../../src/lib/tasks/process'
import {Status} from '../../src/gen/containerd/types/task/task'
import {EXIT_STATUS_LABEL} from '../../src/lib/containers/containers'
import {runContainer, startContainer} from '../../src/lib/tasks/start'
import {exited} from '../helpers/line-reader'
import {spawnCli} from '../helpers/run-cli'
import {type FakeContainerd, startFakeContainerd, statusError} from '../helpers/fake-containerd'

const NS = 'lifecycle'
/** The calls that create or remove something, in the order the fake saw them. */
const CHANGES = new Set([
  'Containers.Create',
  'Containers.Delete',
  'Tasks.Create',
  'Tasks.Start',
  'Tasks.Kill',
  'Tasks.Delete',
  'Tasks.Exec',
  'Tasks.DeleteProcess',
])

let tmp: string
let bundle: string
let fake: FakeContainerd
let client: ContainerdClient

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-lifecycle-'))
  // The fake runs nothing: a spec and an empty root are a bundle (makeBundle's chown needs root).
  bundle = join(tmp, 'bundle')
  await mkdir(join(bundle, 'rootfs'), {recursive: true})
  await writeFile(join(bundle, 'config.json'), JSON.stringify({ociVersion: '1.0.2', process: {args: ['sh'], cwd: '/'}, root: {path: 'rootfs'}, linux: {}}))
})

afterAll(async () => {
  await rm(tmp, {recursive: true, force: true})
})

beforeEach(async () => {
  fake = await startFakeContainerd()
  client = new ContainerdClient({address: fake.address, namespace: NS, timeoutMs: 2000})
})

afterEach(async () => {
  client.close()
  await fake.stop()
})

const changes = () => fake.recorded.filter((r) => CHANGES.has(r.method)).map((r) => r.method)
const never = () => new Promise<never>(() => undefined)
/** A promise and its resolve, without Promise.withResolvers (Node 20). */
function signalled(): {promise: Promise<void>; resolve: () => void} {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return {promise, resolve}
}
async function failure(promise: Promise<unknown>): Promise<CtrError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(CtrError)
  return error as CtrError
}

describe('startContainer rolls back what it created, newest first', () => {
  it('Containers.Create fails: nothing was created, nothing is removed', async () => {
    fake.handle('Containers.Create', () => {
      throw statusError(grpc.status.INTERNAL, 'boltdb is unhappy')
    })
    const error = await failure(startContainer(client, {id: 'c1', bundle}))
    expect(error.message).toBe('cannot start container "c1": boltdb is unhappy')
    expect(changes()).toEqual(['Containers.Create'])
  })

  it('Tasks.Create fails: the record is deleted', async () => {
    fake.handle('Tasks.Create', () => {
      throw statusError(grpc.status.UNKNOWN, 'OCI runtime create failed: something')
    })
    const error = await failure(startContainer(client, {id: 'c1', bundle}))
    expect(error.message).toMatch(/^cannot start container "c1": OCI runtime create failed/)
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Containers.Delete'])
    expect(fake.containers.size).toBe(0)
  })

  it('Tasks.Start fails: the task is killed and deleted, then the record; runc\'s "not found" is exit 127', async () => {
    fake.handle('Tasks.Start', () => {
      throw statusError(grpc.status.UNKNOWN, 'OCI runtime start failed: exec: "nosuch": executable file not found in $PATH: unknown')
    })
    const error = await failure(startContainer(client, {id: 'c1', bundle}))
    expect([error.message, error.exitCode]).toEqual(['cannot start container "c1": "nosuch": executable file not found', 127])
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start', 'Tasks.Kill', 'Tasks.Delete', 'Containers.Delete'])
    expect(fake.requests('Tasks.Kill')[0].request).toMatchObject({containerId: 'c1', signal: 9, all: true})
    expect([fake.containers.size, fake.tasks.size]).toEqual([0, 0])
  })

  for (const point of ['Containers.Create', 'Tasks.Create', 'Tasks.Start'] as const) {
    it(`an abort (Ctrl-C) during ${point}: the roll-back runs on a fresh connection`, async () => {
      const reached = signalled()
      const controller = new AbortController()
      const aborting = new ContainerdClient({address: fake.address, namespace: NS, timeoutMs: 2000, signal: controller.signal})
      const original = {
        'Containers.Create': ({container}: {container: {id: string}}) => fake.addContainer(NS, container.id),
        'Tasks.Create': ({containerId}: {containerId: string}) => fake.addContainer(NS, containerId, {task: 'created'}),
        'Tasks.Start': ({containerId}: {containerId: string}) => fake.addContainer(NS, containerId, {task: 'running'}),
      }[point]
      // containerd goes on with the call after ctr gave up on it: what it made is rolled back too.
      fake.handle(point, async (request: any) => {
        original(request)
        reached.resolve()
        return never()
      })
      const started = startContainer(aborting, {id: 'c1', bundle, signal: controller.signal})
      await reached.promise
      controller.abort(new CtrError('cancelled', 'interrupted'))
      const error = await failure(started)
      aborting.close()
      expect(error.kind).toBe('cancelled')
      expect(error.left).toBeUndefined()
      const undone = changes().slice(changes().indexOf(point) + 1)
      expect(undone).toEqual(point === 'Containers.Create' ? ['Containers.Delete'] : ['Tasks.Kill', 'Tasks.Delete', 'Containers.Delete'])
      expect([fake.containers.size, fake.tasks.size]).toEqual([0, 0])
    })
  }

  it('a silent daemon: Start unanswered, Version too: the error names what may be left, after about one deadline', async () => {
    const quick = new ContainerdClient({address: fake.address, namespace: NS, timeoutMs: 500})
    fake.handle('Tasks.Start', never)
    fake.handle('Version.Version', never)
    const begun = Date.now()
    const error = await failure(startContainer(quick, {id: 'c1', bundle}))
    quick.close()
    expect(Date.now() - begun).toBeLessThan(2500)
    expect(error.kind).toBe('deadline-exceeded')
    expect(error.left).toBe(
      'containerd did not answer the clean-up within 500ms; may be left: container "c1" (maybe a task and its shim, its record; remove with: ctr containers delete --force c1)',
    )
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start'])
  })
})

/** A stand-in for attachStdio: no FIFOs, records what the lifecycle asked of it. */
function standInIo(): ProcessIo & {calls: string[]} {
  const calls: string[] = []
  return {
    calls,
    paths: {stdin: '', stdout: '', stderr: ''},
    started: async () => void calls.push('started'),
    drained: async () => void calls.push('drained'),
    close: async () => void calls.push('close'),
  }
}

/** Tasks.Start answers once `answer` resolves (default at once) and marks the task running. */
function startAnswers(answer: Promise<void> = Promise.resolve()) {
  const called = signalled()
  fake.handle('Tasks.Start', async ({containerId}) => {
    const task = fake.tasks.get(`${NS}/${containerId}`)!
    task.status = Status.RUNNING
    called.resolve()
    await answer
    return {pid: task.pid}
  })
  return called.promise
}

/** The init exits with `status` once Start was called (Tasks.Wait answers then). */
function exitsAfterStart(started: Promise<void>, status: number) {
  fake.handle('Tasks.Wait', async ({containerId}) => {
    await started
    Object.assign(fake.tasks.get(`${NS}/${containerId}`)!, {status: Status.STOPPED, exitStatus: status})
    return {exitStatus: status, exitedAt: new Date()}
  })
}

const order = (method: string) => fake.recorded.findIndex((r) => r.method === method)

describe('runContainer (attached start)', () => {
  it('Wait before Start; deletes the task after the exit, keeps the record marked exited; the stdio closes last', async () => {
    exitsAfterStart(startAnswers(), 3)
    const io = standInIo()
    const result = await runContainer(client, {id: 'c1', bundle, attach: async () => io})
    expect(result).toMatchObject({id: 'c1', exitStatus: 3, removed: false})
    expect(order('Tasks.Wait')).toBeLessThan(order('Tasks.Start'))
    expect(io.calls).toEqual(['started', 'drained', 'close'])
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start', 'Tasks.Delete'])
    expect(fake.containers.get(`${NS}/c1`)!.labels[EXIT_STATUS_LABEL]).toBe('3')
  })

  it('rm: the record goes after the task', async () => {
    exitsAfterStart(startAnswers(), 0)
    await runContainer(client, {id: 'c1', bundle, rm: true, attach: async () => standInIo()})
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start', 'Tasks.Delete', 'Containers.Delete'])
  })

  it('aborted while the process runs (not forwarding): ctr detaches, the container runs on', async () => {
    const started = startAnswers()
    const controller = new AbortController()
    const io = standInIo()
    const running = runContainer(client, {id: 'c1', bundle, rm: true, signal: controller.signal, attach: async () => io})
    await started
    await new Promise((resolve) => setTimeout(resolve, 100))
    controller.abort(new CtrError('cancelled', 'interrupted'))
    expect((await failure(running)).kind).toBe('cancelled')
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start'])
    expect(io.calls).toEqual(['started', 'close'])
    expect(fake.tasks.get(`${NS}/c1`)!.status).toBe(Status.RUNNING)
  })

  it('the connection is lost while it runs: the task (and with rm the record) is removed once containerd answers', async () => {
    const started = startAnswers()
    fake.handle('Tasks.Wait', async ({containerId}) => {
      await started
      if (fake.tasks.get(`${NS}/${containerId}`)!.status === Status.RUNNING && fake.requests('Tasks.Kill').length === 0) {
        throw statusError(grpc.status.UNAVAILABLE, 'connection lost')
      }
      return {exitStatus: 137, exitedAt: new Date()}
    })
    const error = await failure(runContainer(client, {id: 'c1', bundle, rm: true, attach: async () => standInIo()}))
    expect(error.message).toMatch(/; containerd answered again and container "c1" was stopped and cleaned up$/)
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start', 'Tasks.Kill', 'Tasks.Delete', 'Containers.Delete'])
  })
})

/** Exec processes in the fake (it keeps only init tasks): Exec, Get, Start, Kill, Wait, DeleteProcess by exec ID. */
function fakeExecs(options: {startAnswer?: Promise<void>; exitOnStart?: number} = {}) {
  fake.addContainer(NS, 'web', {task: 'running'})
  const processes = new Map<string, {status: Status; exitStatus: number; exited: ReturnType<typeof signalled>}>()
  const started = signalled()
  const end = (execId: string, exitStatus: number) => {
    const process = processes.get(execId)
    if (!process || process.status === Status.STOPPED) return
    Object.assign(process, {status: Status.STOPPED, exitStatus})
    process.exited.resolve()
  }
  const get = (execId: string) => {
    const process = processes.get(execId)
    if (!process) throw statusError(grpc.status.NOT_FOUND, `process ${execId}: not found`)
    return process
  }
  fake.handle('Tasks.Exec', ({execId}) => {
    if (processes.has(execId)) throw statusError(grpc.status.ALREADY_EXISTS, `id ${execId}: already exists`)
    processes.set(execId, {status: Status.CREATED, exitStatus: 0, exited: signalled()})
    return {}
  })
  fake.handle('Tasks.Get', ({containerId, execId}) => {
    if (!execId) return {process: fake.tasks.get(`${NS}/${containerId}`)}
    const process = get(execId)
    return {process: {containerId, id: execId, pid: 4242, status: process.status, exitStatus: process.exitStatus}}
  })
  fake.handle('Tasks.Start', async ({execId}) => {
    get(execId).status = Status.RUNNING
    started.resolve()
    await options.startAnswer
    if (options.exitOnStart !== undefined) setTimeout(() => end(execId, options.exitOnStart!), 20)
    return {pid: 4242}
  })
  fake.handle('Tasks.Kill', ({execId, signal}) => end(execId, 128 + signal))
  fake.handle('Tasks.Wait', async ({execId}) => {
    const process = get(execId)
    await process.exited.promise
    return {exitStatus: process.exitStatus, exitedAt: new Date()}
  })
  fake.handle('Tasks.DeleteProcess', ({execId}) => {
    if (get(execId).status === Status.RUNNING) throw statusError(grpc.status.FAILED_PRECONDITION, 'process must be stopped before deletion')
    processes.delete(execId)
    return {}
  })
  return {processes, started: started.promise, end}
}

const exec = (options: {signal?: AbortSignal; io?: ProcessIo | null; args?: string[]} = {}) =>
  execProcess(
    client,
    {id: 'web', execId: 'e1', args: options.args ?? ['sh']},
    {io: options.io === null ? undefined : async () => options.io ?? standInIo(), signal: options.signal},
  )

describe('execProcess', () => {
  it('attached: Wait before Start, DeleteProcess after the exit, then the stdio', async () => {
    const execs = fakeExecs({exitOnStart: 5})
    const io = standInIo()
    expect(await exec({io})).toMatchObject({execId: 'e1', pid: 4242, exitStatus: 5})
    expect(order('Tasks.Wait')).toBeLessThan(order('Tasks.Start'))
    expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start', 'Tasks.DeleteProcess'])
    expect(io.calls).toEqual(['started', 'drained', 'close'])
    expect(execs.processes.size).toBe(0)
  })

  it('detached: the process is left running (nothing undone)', async () => {
    const execs = fakeExecs()
    expect(await exec({io: null})).toEqual({id: 'web', execId: 'e1', pid: 4242})
    expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start'])
    expect(execs.processes.get('e1')!.status).toBe(Status.RUNNING)
  })

  it('Tasks.Exec fails: nothing to delete, the stdio is closed', async () => {
    fakeExecs()
    fake.handle('Tasks.Exec', () => {
      throw statusError(grpc.status.INTERNAL, 'shim is unhappy')
    })
    const io = standInIo()
    expect((await failure(exec({io}))).message).toBe('container "web": shim is unhappy')
    expect(changes()).toEqual(['Tasks.Exec'])
    expect(io.calls).toEqual(['close'])
  })

  it('Tasks.Start fails: the created process is deleted; runc\'s "not found" is exit 127', async () => {
    const execs = fakeExecs()
    fake.handle('Tasks.Start', async ({execId}) => {
      // As runc does it: the process's exit reaches ctr (Wait answers) before Start's error.
      execs.end(execId, 255)
      await new Promise((resolve) => setTimeout(resolve, 100))
      throw statusError(grpc.status.UNKNOWN, 'OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH: unknown')
    })
    const io = standInIo()
    const error = await failure(exec({io, args: ['nosuch']}))
    expect([error.message, error.exitCode]).toEqual(['cannot exec "nosuch" in container "web": executable file not found', 127])
    expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start', 'Tasks.DeleteProcess'])
    expect(io.calls).toEqual(['close'])
  })

  it('Tasks.Wait fails: the started process is killed and deleted', async () => {
    const execs = fakeExecs()
    fake.handle('Tasks.Wait', async ({execId}) => {
      const process = execs.processes.get(execId)!
      if (fake.requests('Tasks.Wait').length > 1) return {exitStatus: process.exitStatus} // the clean-up's own wait
      await execs.started
      throw statusError(grpc.status.INTERNAL, 'wait broke')
    })
    expect((await failure(exec())).message).toMatch(/wait broke/)
    expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start', 'Tasks.Kill', 'Tasks.DeleteProcess'])
    expect(fake.requests('Tasks.Kill')[0].request).toMatchObject({execId: 'e1', signal: 9})
    expect(execs.processes.size).toBe(0)
  })

  for (const when of ['during Start', 'while it runs'] as const) {
    it(`an abort (Ctrl-C) ${when}: the process (which may run) is killed and deleted on a fresh connection`, async () => {
      const hold = signalled()
      const execs = fakeExecs({startAnswer: when === 'during Start' ? hold.promise : undefined})
      const controller = new AbortController()
      const aborting = new ContainerdClient({address: fake.address, namespace: NS, timeoutMs: 2000, signal: controller.signal})
      const running = execProcess(aborting, {id: 'web', execId: 'e1', args: ['sh']}, {io: async () => standInIo(), signal: controller.signal})
      await execs.started
      await new Promise((resolve) => setTimeout(resolve, 50))
      controller.abort(new CtrError('cancelled', 'interrupted'))
      const error = await failure(running)
      hold.resolve()
      aborting.close()
      expect(error.kind).toBe('cancelled')
      expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start', 'Tasks.Kill', 'Tasks.DeleteProcess'])
      expect(execs.processes.size).toBe(0)
    })
  }

  it('the connection is lost while it runs: removed once containerd answers again, and the error says so', async () => {
    const execs = fakeExecs()
    fake.handle('Tasks.Wait', async ({execId}) => {
      await execs.started
      const process = execs.processes.get(execId)!
      if (process.status === Status.RUNNING && fake.requests('Tasks.Kill').length === 0) throw statusError(grpc.status.UNAVAILABLE, 'connection lost')
      return {exitStatus: process.exitStatus, exitedAt: new Date()}
    })
    const error = await failure(exec())
    expect(error.kind).toBe('unavailable')
    expect(error.message).toMatch(/; containerd answered again and exec "e1" in container "web" was stopped and cleaned up$/)
    expect(changes()).toEqual(['Tasks.Exec', 'Tasks.Start', 'Tasks.Kill', 'Tasks.DeleteProcess'])
  })

  it('the connection is lost for good: the error says what may still be running, within the call deadline', async () => {
    const execs = fakeExecs()
    let lost = false
    fake.handle('Tasks.Wait', async () => {
      await execs.started
      lost = true
      throw statusError(grpc.status.UNAVAILABLE, 'connection lost')
    })
    fake.handle('Tasks.Get', ({containerId}) => {
      if (lost) throw statusError(grpc.status.UNAVAILABLE, 'connection lost')
      return {process: fake.tasks.get(`${NS}/${containerId}`)}
    })
    const begun = Date.now()
    const error = await failure(exec())
    expect(Date.now() - begun).toBeLessThan(4000)
    expect(error.message).toMatch(/; exec "e1" in container "web" may still be running$/)
    expect(execs.processes.get('e1')!.status).toBe(Status.RUNNING)
  })
})

describe('ctr containers start --attach, signalled while Tasks.Start is under way (the built CLI)', () => {
  async function startSignalled(flags: string[]) {
    const answer = signalled()
    const called = startAnswers(answer.promise)
    const child = spawnCli(['containers', 'start', '-a', ...flags, 'c1', bundle], {address: fake.address, namespace: NS})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await called
    child.kill('SIGINT')
    // Give ctr time to act on the signal while Start is still unanswered (it must only hold it).
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(fake.requests('Tasks.Kill')).toEqual([])
    answer.resolve()
    return {code: (await exited(child)).code, stderr: () => stderr}
  }

  it('forwarding: the SIGINT goes to the process once Start answers; ctr exits as it does', async () => {
    const {code, stderr} = await startSignalled([])
    expect(code, stderr()).toBe(130)
    expect(fake.requests('Tasks.Kill').map((r) => [r.request.containerId, r.request.execId, r.request.signal])).toEqual([['c1', '', 2]])
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start', 'Tasks.Kill', 'Tasks.Delete'])
  })

  it('--no-sig-proxy: the interrupt is held until Start answers, then ctr detaches and the container runs on', async () => {
    const {code, stderr} = await startSignalled(['--no-sig-proxy'])
    expect([code, stderr()]).toEqual([130, ''])
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Start'])
    expect(fake.tasks.get(`${NS}/c1`)!.status).toBe(Status.RUNNING)
    // The FIFOs ctr made for the task are gone with it.
    const {stdout} = fake.requests('Tasks.Create')[0].request
    expect(existsSync(stdout)).toBe(false)
  })
})

describe('ctr containers start --attach, interrupted during Tasks.Create (the built CLI)', () => {
  it('exits 130 and rolls back: task, FIFOs, record', async () => {
    const reached = signalled()
    fake.handle('Tasks.Create', async ({containerId}) => {
      fake.addContainer(NS, containerId, {task: 'created'})
      reached.resolve()
      await new Promise((resolve) => setTimeout(resolve, 1500))
      return {pid: fake.tasks.get(`${NS}/${containerId}`)!.pid}
    })
    const child = spawnCli(['containers', 'start', '-a', 'c1', bundle], {address: fake.address, namespace: NS})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await reached.promise
    child.kill('SIGINT')
    expect(await exited(child), stderr).toEqual({code: 130, signal: null})
    expect(changes()).toEqual(['Containers.Create', 'Tasks.Create', 'Tasks.Kill', 'Tasks.Delete', 'Containers.Delete'])
    expect(existsSync(fake.requests('Tasks.Create')[0].request.stdout)).toBe(false)
  })
})
