/**
 * A TEST DOUBLE of containerd: an in-process grpc-js server on a temporary unix socket that speaks the
 * Version, Containers and Tasks services with our generated definitions, keeps containers and tasks in
 * memory (per namespace) and RECORDS every request, so contract tests can assert what ctr sends for what
 * the real daemon cannot do here (e.g. a checkpoint that succeeds).
 *
 *   const fake = await startFakeContainerd()
 *   fake.addContainer('ns', 'web', {task: 'running'})
 *   await runCli(['--address', fake.address, ...])
 *   fake.requests('Tasks.Checkpoint')      // [{method, namespace, request}] with decoded ts-proto messages
 *   fake.handle('Tasks.Checkpoint', (request, namespace) => { throw statusError(2, 'criu failed') })
 *   await fake.stop()
 *
 * Its behaviour is a sketch of containerd's (same error codes and wordings where ctr depends on them),
 * not a reimplementation: unknown methods answer UNIMPLEMENTED.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as grpc from '@grpc/grpc-js'

import {CheckpointOptions} from '../../src/gen/containerd/runc/options/oci'
import {type Container, ContainersDefinition} from '../../src/gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../src/gen/containerd/services/tasks/v1/tasks'
import {VersionDefinition} from '../../src/gen/containerd/services/version/v1/version'
import {type Process, Status} from '../../src/gen/containerd/types/task/task'
import type {ServiceDefinition} from '../../src/lib/containerd/client'
import {bindUnix, type Handler, methodDefinition, statusError, unaryMethod} from './grpc-service'

export {type Handler, statusError} from './grpc-service'

export interface RecordedRequest {
  /** `Service.Method`, e.g. `Tasks.Checkpoint`. */
  method: string
  /** The containerd-namespace header ('' when absent). */
  namespace: string
  /** The decoded request message. */
  request: any
}

export type TaskState = 'created' | 'running' | 'paused' | 'stopped'

export interface FakeContainerd {
  /** The socket path (pass as --address). */
  readonly address: string
  /** Every request so far, in order. */
  readonly recorded: RecordedRequest[]
  /** Requests to one method (`Tasks.Create`), in order. */
  requests(method: string): RecordedRequest[]
  /** Containers by `${namespace}/${id}`. */
  readonly containers: Map<string, Container>
  /** Tasks (init processes) by `${namespace}/${id}`. */
  readonly tasks: Map<string, Process>
  addContainer(namespace: string, id: string, options?: {labels?: Record<string, string>; task?: TaskState; pid?: number}): void
  handle(method: string, handler: Handler): void
  stop(): Promise<void>
}

const SERVICES: ReadonlyArray<{short: string; definition: ServiceDefinition}> = [
  {short: 'Version', definition: VersionDefinition},
  {short: 'Containers', definition: ContainersDefinition},
  {short: 'Tasks', definition: TasksDefinition},
]

export async function startFakeContainerd(): Promise<FakeContainerd> {
  // Short path: a unix socket path must fit in 107 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'fakectrd-'))
  const address = join(dir, 'containerd.sock')
  const recorded: RecordedRequest[] = []
  const containers = new Map<string, Container>()
  const tasks = new Map<string, Process>()
  const waiters = new Map<string, Array<() => void>>()
  let nextPid = 10_000

  const key = (namespace: string, id: string) => `${namespace}/${id}`
  const requireNamespace = (namespace: string) => {
    if (!namespace) throw statusError(grpc.status.FAILED_PRECONDITION, 'namespace is required: failed precondition')
  }
  const getContainer = (namespace: string, id: string): Container => {
    requireNamespace(namespace)
    const container = containers.get(key(namespace, id))
    if (!container) throw statusError(grpc.status.NOT_FOUND, `container "${id}" in namespace "${namespace}": not found`)
    return container
  }
  const getTask = (namespace: string, id: string): Process => {
    getContainer(namespace, id)
    const task = tasks.get(key(namespace, id))
    if (!task) throw statusError(grpc.status.NOT_FOUND, `no running task found: task ${id} not found`)
    return task
  }
  const exit = (namespace: string, id: string, exitStatus: number) => {
    const task = tasks.get(key(namespace, id))
    if (!task || task.status === Status.STOPPED) return
    Object.assign(task, {status: Status.STOPPED, exitStatus, exitedAt: new Date()})
    for (const wake of waiters.get(key(namespace, id)) ?? []) wake()
    waiters.delete(key(namespace, id))
  }

  const handlers = new Map<string, Handler>([
    ['Version.Version', () => ({version: 'v1.6.20-fake', revision: 'fake'})],

    ['Containers.Get', ({id}, ns) => ({container: getContainer(ns, id)})],
    ['Containers.List', (_request, ns) => (requireNamespace(ns), {containers: [...containers].filter(([k]) => k.startsWith(`${ns}/`)).map(([, c]) => c)})],
    [
      'Containers.Create',
      ({container}, ns) => {
        requireNamespace(ns)
        if (containers.has(key(ns, container.id))) throw statusError(grpc.status.ALREADY_EXISTS, `container "${container.id}": already exists`)
        const created = {...container, createdAt: new Date(), updatedAt: new Date()}
        containers.set(key(ns, container.id), created)
        return {container: created}
      },
    ],
    [
      'Containers.Update',
      ({container, updateMask}, ns) => {
        const current = getContainer(ns, container.id)
        for (const path of (updateMask as string[] | undefined) ?? []) {
          if (path === 'labels') current.labels = {...container.labels}
          else if (path.startsWith('labels.')) {
            const label = path.slice('labels.'.length)
            if (label in container.labels) current.labels[label] = container.labels[label]
            else delete current.labels[label]
          } else throw statusError(grpc.status.INVALID_ARGUMENT, `field "${path}" not supported by the fake`)
        }
        current.updatedAt = new Date()
        return {container: current}
      },
    ],
    [
      'Containers.Delete',
      ({id}, ns) => {
        getContainer(ns, id)
        containers.delete(key(ns, id))
        return {}
      },
    ],

    [
      'Tasks.Create',
      (request, ns) => {
        getContainer(ns, request.containerId)
        if (tasks.has(key(ns, request.containerId))) throw statusError(grpc.status.ALREADY_EXISTS, `task ${request.containerId}: already exists`)
        const pid = nextPid++
        tasks.set(key(ns, request.containerId), {
          containerId: request.containerId,
          id: request.containerId,
          pid,
          status: Status.CREATED,
          stdin: request.stdin,
          stdout: request.stdout,
          stderr: request.stderr,
          terminal: request.terminal,
          exitStatus: 0,
          exitedAt: undefined,
        })
        return {containerId: request.containerId, pid}
      },
    ],
    [
      'Tasks.Start',
      ({containerId}, ns) => {
        const task = getTask(ns, containerId)
        task.status = Status.RUNNING
        return {pid: task.pid}
      },
    ],
    ['Tasks.Get', ({containerId}, ns) => ({process: getTask(ns, containerId)})],
    ['Tasks.List', (_request, ns) => (requireNamespace(ns), {tasks: [...tasks].filter(([k]) => k.startsWith(`${ns}/`)).map(([, t]) => t)})],
    [
      'Tasks.Kill',
      ({containerId, signal}, ns) => {
        getTask(ns, containerId)
        exit(ns, containerId, 128 + signal)
        return {}
      },
    ],
    [
      'Tasks.Wait',
      async ({containerId}, ns) => {
        const task = getTask(ns, containerId)
        if (task.status !== Status.STOPPED) {
          await new Promise<void>((resolve) => waiters.set(key(ns, containerId), [...(waiters.get(key(ns, containerId)) ?? []), resolve]))
        }
        return {exitStatus: task.exitStatus, exitedAt: task.exitedAt}
      },
    ],
    [
      'Tasks.Delete',
      ({containerId}, ns) => {
        const task = getTask(ns, containerId)
        if (task.status === Status.RUNNING || task.status === Status.PAUSED) {
          throw statusError(
            grpc.status.FAILED_PRECONDITION,
            `task must be stopped before deletion: ${task.status === Status.RUNNING ? 'running' : 'paused'}: failed precondition`,
          )
        }
        tasks.delete(key(ns, containerId))
        return {id: containerId, pid: task.pid, exitStatus: task.exitStatus, exitedAt: task.exitedAt}
      },
    ],
    ['Tasks.Pause', ({containerId}, ns) => ((getTask(ns, containerId).status = Status.PAUSED), {})],
    ['Tasks.Resume', ({containerId}, ns) => ((getTask(ns, containerId).status = Status.RUNNING), {})],
    [
      // What CRIU does with an image path, in miniature: image files there, dump.log in the work path.
      'Tasks.Checkpoint',
      async ({containerId, options}, ns) => {
        const task = getTask(ns, containerId)
        if (task.status !== Status.RUNNING && task.status !== Status.PAUSED)
          throw statusError(grpc.status.FAILED_PRECONDITION, `task ${containerId} is not running`)
        const opts = options ? CheckpointOptions.decode(options.value) : undefined
        if (opts?.imagePath) await writeFile(join(opts.imagePath, 'inventory.img'), 'fake CRIU image\n')
        if (opts?.workPath) await writeFile(join(opts.workPath, 'dump.log'), '(00.000001) Dumping finished successfully\n')
        if (opts?.exit) exit(ns, containerId, 137)
        return {descriptors: []}
      },
    ],
  ])

  const server = new grpc.Server()
  for (const {short, definition} of SERVICES) {
    const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
    const implementation: grpc.UntypedServiceImplementation = {}
    for (const [name, method] of Object.entries(definition.methods)) {
      service[name] = methodDefinition(definition, method)
      const fullMethod = `${short}.${method.name}`
      implementation[name] = method.responseStream
        ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
            recorded.push({method: fullMethod, namespace: namespaceOf(call.metadata), request: call.request})
            call.emit('error', statusError(grpc.status.UNIMPLEMENTED, `${fullMethod} not implemented by the fake`))
          }
        : unaryMethod(fullMethod, handlers, recorded)
    }
    server.addService(service, implementation)
  }
  await bindUnix(server, address)

  return {
    address,
    recorded,
    requests: (method) => recorded.filter((r) => r.method === method),
    containers,
    tasks,
    addContainer(namespace, id, options = {}) {
      containers.set(key(namespace, id), {
        id,
        labels: {...options.labels},
        image: '',
        runtime: {name: 'io.containerd.runc.v2', options: undefined},
        spec: undefined,
        snapshotter: '',
        snapshotKey: '',
        createdAt: new Date(),
        updatedAt: new Date(),
        extensions: {},
      })
      if (options.task) {
        const status = {created: Status.CREATED, running: Status.RUNNING, paused: Status.PAUSED, stopped: Status.STOPPED}[options.task]
        const pid = options.pid ?? nextPid++
        tasks.set(key(namespace, id), {
          containerId: id,
          id,
          pid,
          status,
          stdin: '',
          stdout: '',
          stderr: '',
          terminal: false,
          exitStatus: 0,
          exitedAt: undefined,
        })
      }
    },
    handle(method, handler) {
      handlers.set(method, handler)
    },
    async stop() {
      for (const wakeAll of waiters.values()) for (const wake of wakeAll) wake()
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
      server.forceShutdown()
      await rm(dir, {recursive: true, force: true})
    },
  }
}

function namespaceOf(metadata: grpc.Metadata): string {
  return String(metadata.get('containerd-namespace')[0] ?? '')
}
