import {describe, expect, it} from 'vitest'

import type {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError, fromGrpcError} from '../../../src/lib/containerd/errors'
import {watchEvents} from '../../../src/lib/events/watch'
import {TaskExit} from '../../../src/gen/containerd/events/task'
import type {Envelope} from '../../../src/gen/containerd/services/events/v1/events'

const at = new Date('2026-11-22T21:05:54.279Z')

function envelope(topic: string, typeUrl: string, value: Uint8Array, namespace = 'ns1'): Envelope {
  return {timestamp: at, namespace, topic, event: {typeUrl, value}} as Envelope
}

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
    const watch = watchEvents(client, {
      filters: ['namespace=="n"'],
      backoff: fast,
      heartbeatMs: 0,
      onStatus: (s) => statuses.push(s.kind === 'lost' ? `lost: ${s.reason}` : s.kind),
    })
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
    await expect(watchEvents(once.client, {filters: [], reconnect: false, backoff: fast, heartbeatMs: 0}).next()).rejects.toThrow(
      'event stream lost (connection lost)',
    )
  })

  it('never retries a filter the daemon rejects', async () => {
    // As containerd answers it (UNKNOWN, errdefs' class as the last word), through the one conversion.
    const details = 'subscription error: failed parsing subscription filters: filters: parse error: [topic==]: expected value or quoted: invalid argument'
    const bad = fromGrpcError(Object.assign(new Error(`2 UNKNOWN: ${details}`), {code: 2, details}), {address: '/x.sock'})
    const {client, calls} = fakeClient([true], [{envelopes: [], end: bad}])
    await expect(watchEvents(client, {filters: ['topic=='], backoff: fast, heartbeatMs: 0}).next()).rejects.toThrow(
      'invalid filter: parse error: [topic==]: expected value or quoted',
    )
    expect(calls.subscribe).toBe(1)
  })
})
