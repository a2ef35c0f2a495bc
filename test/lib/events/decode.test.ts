import {describe, expect, it} from 'vitest'

import {decodeEnvelope, eventType} from '../../../src/lib/events/decode'
import {ContainerCreate} from '../../../src/gen/containerd/events/container'
import {TaskDelete, TaskExecStarted, TaskExit, TaskOOM, TaskStart} from '../../../src/gen/containerd/events/task'
import type {Envelope} from '../../../src/gen/containerd/services/events/v1/events'

const at = new Date('2026-11-22T21:05:54.279Z')

function envelope(topic: string, typeUrl: string, value: Uint8Array, namespace = 'ns1'): Envelope {
  return {timestamp: at, namespace, topic, event: {typeUrl, value}} as Envelope
}

describe('eventType', () => {
  it.each([
    ['/tasks/exit', 'exit'],
    ['/tasks/exec-added', 'exec-added'],
    ['/tasks/oom', 'oom'],
    ['/containers/create', 'container-create'],
    ['/images/delete', 'image-delete'],
    ['/namespaces/create', 'namespace-create'],
    ['/snapshot/prepare', 'snapshot-prepare'],
    ['/content/delete', 'content-delete'],
    ['/sandboxes/create', '/sandboxes/create'],
    ['weird', 'weird'],
  ])('%s → %s', (topic, type) => expect(eventType(topic)).toBe(type))
})

describe('decodeEnvelope', () => {
  it('decodes an init exit: id, pid, status', () => {
    const value = TaskExit.encode(TaskExit.fromPartial({containerId: 'redis', id: 'redis', pid: 24761, exitStatus: 137, exitedAt: at})).finish()
    const event = decodeEnvelope(envelope('/tasks/exit', 'containerd.events.TaskExit', value))
    expect(event).toMatchObject({timestamp: at, namespace: 'ns1', topic: '/tasks/exit', type: 'exit', id: 'redis', pid: 24761, status: 137})
    expect(event.execId).toBeUndefined()
    expect(event.payload).toMatchObject({containerId: 'redis', exitStatus: 137})
  })

  it("names an exec's exit by its exec ID", () => {
    const value = TaskExit.encode(TaskExit.fromPartial({containerId: 'redis', id: 'sh1', pid: 99, exitStatus: 0})).finish()
    expect(decodeEnvelope(envelope('/tasks/exit', 'containerd.events.TaskExit', value))).toMatchObject({id: 'redis', execId: 'sh1', pid: 99, status: 0})
  })

  it('reads exec-started and start PIDs, and status 0 only where there is one', () => {
    const started = TaskExecStarted.encode(TaskExecStarted.fromPartial({containerId: 'c', execId: 'e', pid: 7})).finish()
    expect(decodeEnvelope(envelope('/tasks/exec-started', 'containerd.events.TaskExecStarted', started))).toMatchObject({
      type: 'exec-started',
      id: 'c',
      execId: 'e',
      pid: 7,
    })
    const start = decodeEnvelope(
      envelope('/tasks/start', 'containerd.events.TaskStart', TaskStart.encode(TaskStart.fromPartial({containerId: 'c', pid: 5})).finish()),
    )
    expect(start).toMatchObject({type: 'start', id: 'c', pid: 5})
    expect(start.status).toBeUndefined()
  })

  it('reads delete status and oom', () => {
    const del = TaskDelete.encode(TaskDelete.fromPartial({containerId: 'c', pid: 5, exitStatus: 143})).finish()
    expect(decodeEnvelope(envelope('/tasks/delete', 'containerd.events.TaskDelete', del))).toMatchObject({type: 'delete', id: 'c', pid: 5, status: 143})
    const oom = TaskOOM.encode(TaskOOM.fromPartial({containerId: 'c'})).finish()
    expect(decodeEnvelope(envelope('/tasks/oom', 'containerd.events.TaskOOM', oom))).toMatchObject({type: 'oom', id: 'c'})
  })

  it('accepts prefixed type URLs (containerd 1.7+/2.x)', () => {
    const value = ContainerCreate.encode(ContainerCreate.fromPartial({id: 'web', image: 'busybox'})).finish()
    const event = decodeEnvelope(envelope('/containers/create', 'type.googleapis.com/containerd.events.ContainerCreate', value))
    expect(event).toMatchObject({type: 'container-create', id: 'web', payload: {id: 'web', image: 'busybox'}})
  })

  it('keeps topic and namespace for unknown types, and for undecodable bytes', () => {
    const unknown = decodeEnvelope(envelope('/sandboxes/create', 'containerd.events.SandboxCreate', new Uint8Array([8, 1]), 'ns2'))
    expect(unknown).toEqual({
      timestamp: at,
      namespace: 'ns2',
      topic: '/sandboxes/create',
      type: '/sandboxes/create',
      typeUrl: 'containerd.events.SandboxCreate',
    })
    const garbage = decodeEnvelope(envelope('/tasks/exit', 'containerd.events.TaskExit', new Uint8Array([0xff, 0xff, 0xff])))
    expect(garbage).toMatchObject({topic: '/tasks/exit', type: 'exit', namespace: 'ns1'})
    expect(garbage.payload).toBeUndefined()
  })

  it('copes with an envelope without payload or timestamp', () => {
    const event = decodeEnvelope({namespace: 'n', topic: '/tasks/paused'} as Envelope)
    expect(event).toMatchObject({namespace: 'n', topic: '/tasks/paused', type: 'paused'})
    expect(event.timestamp).toBeInstanceOf(Date)
  })
})
