import {describe, expect, it} from 'vitest'

import type {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'
import {waitContainer} from '../../../src/lib/tasks/wait'

/** A client whose Tasks.Wait answers from a script: errors to throw, then the status. */
function scriptedClient(steps: Array<CtrError | number>): {client: ContainerdClient; calls: () => number} {
  let calls = 0
  const wait = async () => {
    const step = steps[Math.min(calls++, steps.length - 1)]
    if (step instanceof CtrError) throw step
    return {exitStatus: step, exitedAt: new Date(0)}
  }
  return {client: {service: () => ({wait})} as unknown as ContainerdClient, calls: () => calls}
}

const lost = () => new CtrError('unavailable', 'cannot connect to containerd at /s: connection lost')

describe('waitContainer', () => {
  it('makes the wait again while containerd is unreachable, then gives its status', async () => {
    const {client, calls} = scriptedClient([lost(), lost(), 7])
    await expect(waitContainer(client, 'c')).resolves.toEqual({id: 'c', exitStatus: 7, exitedAt: new Date(0)})
    expect(calls()).toBe(3)
  })

  it('gives up after reconnectLimitMs of continuous unavailability, with the connection error', async () => {
    const {client} = scriptedClient([lost()])
    await expect(waitContainer(client, 'c', {reconnectLimitMs: 300})).rejects.toThrow(/connection lost/)
  })

  it('does not retry other errors; a task deleted meanwhile is named', async () => {
    const {client, calls} = scriptedClient([new CtrError('not-found', 'process not found')])
    await expect(waitContainer(client, 'c')).rejects.toThrow('container "c" has no task any more (deleted while waiting)')
    expect(calls()).toBe(1)
    const other = scriptedClient([new CtrError('internal', 'boom')])
    await expect(waitContainer(other.client, 'c')).rejects.toThrow('boom')
  })

  it('stops retrying as soon as it is aborted', async () => {
    const {client} = scriptedClient([lost()])
    const abort = new AbortController()
    setTimeout(() => abort.abort(new CtrError('cancelled', 'interrupted')), 100)
    await expect(waitContainer(client, 'c', {signal: abort.signal})).rejects.toThrow('interrupted')
  })
})
