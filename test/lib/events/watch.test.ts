import {describe, expect, it} from 'vitest'

import type {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'
import {buildFilters, checkFilter, decodeEnvelope, eventType, watchEvents} from '../../../src/lib/events/watch'
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
    expect(decodeEnvelope(envelope('/tasks/exec-started', 'containerd.events.TaskExecStarted', started))).toMatchObject({type: 'exec-started', id: 'c', execId: 'e', pid: 7})
    const start = decodeEnvelope(envelope('/tasks/start', 'containerd.events.TaskStart', TaskStart.encode(TaskStart.fromPartial({containerId: 'c', pid: 5})).finish()))
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
    expect(unknown).toEqual({timestamp: at, namespace: 'ns2', topic: '/sandboxes/create', type: '/sandboxes/create', typeUrl: 'containerd.events.SandboxCreate'})
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

describe('buildFilters', () => {
  it('restricts to the namespace by default (Subscribe ignores the namespace header)', () => {
    expect(buildFilters({namespace: 'ns1'})).toEqual(['namespace=="ns1"'])
    expect(buildFilters({namespace: 'ns1', allNamespaces: true})).toEqual([])
  })

  it('ANDs the namespace with each user filter, which stay OR-ed', () => {
    expect(buildFilters({namespace: 'ns1', filters: ['topic=="/tasks/exit"', ' topic~="/containers/" ', '']})).toEqual([
      'namespace=="ns1",topic=="/tasks/exit"',
      'namespace=="ns1",topic~="/containers/"',
    ])
  })

  it('--id matches container_id (task events) or id (container events)', () => {
    expect(buildFilters({namespace: 'n', id: 'web', filters: ['topic~="/tasks/"']})).toEqual([
      'namespace=="n",event.container_id=="web",topic~="/tasks/"',
      'namespace=="n",event.id=="web",topic~="/tasks/"',
    ])
    expect(buildFilters({namespace: 'n', id: 'web', allNamespaces: true})).toEqual(['event.container_id=="web"', 'event.id=="web"'])
  })
})

describe('checkFilter', () => {
  it.each(['topic=="/tasks/exit"', 'namespace==default,topic~=/tasks/', 'event.container_id', 'topic~="^/tasks/(start|exit)$"', 'topic~=/ta,sks/', '"quoted field".x==y', 'topic=='])('accepts %s', (f) =>
    expect(() => checkFilter(f)).not.toThrow(),
  )

  it.each([
    ['topic~="(unclosed"', /bad regular expression/],
    ['topic~=[a-', /bad regular expression/],
    ['topic>5', /expected field==value/],
    ['==x', /expected field==value/],
  ])('refuses %s', (f, message) => expect(() => checkFilter(f)).toThrow(message))

  it('is applied by buildFilters, naming the filter', () => {
    expect(() => buildFilters({namespace: 'n', filters: ['topic~="("']})).toThrow(/^invalid --filter "topic~="\("": bad regular expression/)
  })
})

describe('watchEvents (scripted fake client)', () => {
  const fast = {initialMs: 1, maxMs: 4, factor: 2, jitter: 'none' as const}
  const exitEnvelope = (id: string): Envelope =>
    envelope('/tasks/exit', 'containerd.events.TaskExit', TaskExit.encode(TaskExit.fromPartial({containerId: id, id, pid: 1, exitStatus: 0})).finish())

  /** version(): results in order (true = answers); subscribe(): one script per call of envelopes then an end. */
  function fakeClient(versions: boolean[], streams: Array<{envelopes: Envelope[]; end: 'close' | CtrError}>) {
    const calls = {version: 0, subscribe: 0, filters: [] as string[][]}
    const client = {
      timeoutMs: 1000,
      service(definition: {name: string}) {
        if (definition.name === 'Version')
          return {
            version: async () => {
              const ok = versions[calls.version++] ?? true
              if (!ok) throw new CtrError('unavailable', 'cannot connect to containerd at /x.sock: connection refused (is containerd running?)')
              return {version: '1.6.20', revision: 'x'}
            },
          }
        return {
          subscribe(request: {filters: string[]}) {
            calls.filters.push(request.filters)
            const script = streams[calls.subscribe++] ?? {envelopes: [], end: new CtrError('cancelled', 'no more scripts')}
            return (async function* () {
              for (const e of script.envelopes) yield e
              if (script.end !== 'close') throw script.end
            })()
          },
        }
      },
    }
    return {client: client as unknown as ContainerdClient, calls}
  }

  it('re-subscribes after a break, reporting lost, retries and reconnected, and keeps the filters', async () => {
    const {client, calls} = fakeClient(
      [true, false, false, true],
      [
        {envelopes: [exitEnvelope('a')], end: new CtrError('unavailable', 'cannot connect to containerd at /x.sock: connection lost')},
        {envelopes: [exitEnvelope('b')], end: 'close'},
        {envelopes: [exitEnvelope('c')], end: new CtrError('failed-precondition', 'stop here')},
      ],
    )
    const statuses: string[] = []
    const ids: string[] = []
    const watch = watchEvents(client, {filters: ['namespace=="n"'], backoff: fast, heartbeatMs: 0, onStatus: (s) => statuses.push(s.kind === 'lost' ? `lost: ${s.reason}` : s.kind)})
    await expect(
      (async () => {
        for await (const event of watch) ids.push(event.id!)
      })(),
    ).rejects.toThrow('stop here')
    expect(ids).toEqual(['a', 'b', 'c'])
    expect(statuses).toEqual(['lost: connection lost', 'retrying', 'retrying', 'reconnected', 'lost: the daemon closed the stream', 'reconnected'])
    expect(calls.filters).toEqual([['namespace=="n"'], ['namespace=="n"'], ['namespace=="n"']])
  })

  it('fails at once when the first connection fails, and with --no-reconnect on a break', async () => {
    const first = fakeClient([false], [])
    await expect(watchEvents(first.client, {filters: [], backoff: fast}).next()).rejects.toThrow(/connection refused/)
    expect(first.calls.subscribe).toBe(0)

    const once = fakeClient([true], [{envelopes: [], end: new CtrError('unavailable', 'cannot connect to containerd at /x.sock: connection lost')}])
    await expect(watchEvents(once.client, {filters: [], reconnect: false, backoff: fast, heartbeatMs: 0}).next()).rejects.toThrow('event stream lost (connection lost)')
  })

  it('never retries a filter the daemon rejects', async () => {
    const bad = new CtrError('internal', 'subscription error: failed parsing subscription filters: filters: parse error: [topic==]: expected value or quoted: invalid argument')
    const {client, calls} = fakeClient([true], [{envelopes: [], end: bad}])
    await expect(watchEvents(client, {filters: ['topic=='], backoff: fast, heartbeatMs: 0}).next()).rejects.toThrow('invalid --filter: parse error: [topic==]: expected value or quoted')
    expect(calls.subscribe).toBe(1)
  })
})
