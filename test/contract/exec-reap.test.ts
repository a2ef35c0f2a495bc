/**
 * Contract of reaping detached execs (src/lib/tasks/exec-exits.ts reapExecs, and execProcess's mark) against
 * the recording fake containerd, for the paths the real daemon opens only by chance: another ctr deleting the
 * process first, containerd failing to answer for one process, a start that fails after the mark.
 */
import * as grpc from '@grpc/grpc-js'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {Status} from '../../src/gen/containerd/types/task/task'
import {ContainerdClient} from '../../src/lib/containerd/client'
import {execProcess} from '../../src/lib/tasks/exec'
import {DETACHED_EXEC_LABEL_PREFIX, EXEC_EXIT_LABEL_PREFIX, execExits, MAX_EXEC_EXITS, reapExecs} from '../../src/lib/tasks/exec-exits'
import {type FakeContainerd, startFakeContainerd, statusError} from '../helpers/fake-containerd'

const NS = 'exec-reap'
let fake: FakeContainerd
let client: ContainerdClient

beforeEach(async () => {
  fake = await startFakeContainerd()
  client = new ContainerdClient({address: fake.address, namespace: NS})
})

afterEach(async () => {
  client.close()
  await fake.stop()
})

const mark = (execId: string, initPid = 100) => ({[DETACHED_EXEC_LABEL_PREFIX + execId]: JSON.stringify({initPid})})
const exitedAt = new Date('2026-02-01T00:00:00.000Z')
const updates = () => fake.requests('Containers.Update').map((r) => r.request as {container: {labels: Record<string, string>}; updateMask: string[]})

describe('reapExecs', () => {
  it('records and deletes what exited, drops the marks of what is gone, keeps live and unanswered ones: one Update', async () => {
    fake.addContainer(NS, 'web', {
      task: 'running',
      labels: {...mark('done'), ...mark('raced'), ...mark('gone'), ...mark('live'), ...mark('unanswered'), other: 'x'},
    })
    const processes: Record<string, object> = {
      done: {pid: 201, status: Status.STOPPED, exitStatus: 3, exitedAt},
      raced: {pid: 202, status: Status.STOPPED, exitStatus: 0, exitedAt},
      live: {pid: 203, status: Status.RUNNING},
    }
    fake.handle('Tasks.Get', ({execId}) => {
      if (execId === 'unanswered') throw statusError(grpc.status.INTERNAL, 'shim busy')
      if (!processes[execId]) throw statusError(grpc.status.NOT_FOUND, `process ${execId}: not found`)
      return {process: {id: execId, ...processes[execId]}}
    })
    fake.handle('Tasks.DeleteProcess', ({execId}) => {
      // 'raced': another ctr's DeleteProcess got there first; it records the exit, not this one
      if (execId === 'raced') throw statusError(grpc.status.NOT_FOUND, `process ${execId}: not found`)
      return {id: execId, pid: 201, exitStatus: 3, exitedAt}
    })

    const {exits, labels} = await reapExecs(client, 'web')

    expect(exits).toEqual([{execId: 'done', pid: 201, exitStatus: 3, exitedAt, initPid: 100}])
    expect(
      fake
        .requests('Tasks.DeleteProcess')
        .map((r) => r.request.execId)
        .sort(),
    ).toEqual(['done', 'raced'])
    expect(updates()).toHaveLength(1)
    const [update] = updates()
    expect(update.updateMask.sort()).toEqual(
      [`labels.${EXEC_EXIT_LABEL_PREFIX}done`, ...['done', 'gone', 'raced'].map((id) => `labels.${DETACHED_EXEC_LABEL_PREFIX}${id}`)].sort(),
    )
    expect(execExits(update.container.labels)).toEqual(exits)
    // What the caller gets back is the container's labels after the Update
    expect(Object.keys(labels).sort()).toEqual([
      `${EXEC_EXIT_LABEL_PREFIX}done`,
      `${DETACHED_EXEC_LABEL_PREFIX}live`,
      `${DETACHED_EXEC_LABEL_PREFIX}unanswered`,
      'other',
    ])

    // Nothing marked: nothing asked, nothing written
    fake.addContainer(NS, 'quiet', {task: 'running', labels: {other: 'x'}})
    expect(await reapExecs(client, 'quiet')).toEqual({exits: [], labels: {other: 'x'}})
    expect(updates()).toHaveLength(1)
  })

  it(`keeps the newest ${MAX_EXEC_EXITS} records: an older one goes in the same Update`, async () => {
    const old: Record<string, string> = {}
    for (let i = 0; i < MAX_EXEC_EXITS; i++) {
      old[EXEC_EXIT_LABEL_PREFIX + `old${i}`] = JSON.stringify({pid: i, exitStatus: 0, exitedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()})
    }
    fake.addContainer(NS, 'web', {task: 'running', labels: {...old, ...mark('new')}})
    fake.handle('Tasks.Get', ({execId}) => ({process: {id: execId, pid: 300, status: Status.STOPPED, exitStatus: 1, exitedAt}}))
    fake.handle('Tasks.DeleteProcess', ({execId}) => ({id: execId, pid: 300, exitStatus: 1, exitedAt}))
    const {labels} = await reapExecs(client, 'web')
    const kept = execExits(labels).map((e) => e.execId)
    expect(kept).toHaveLength(MAX_EXEC_EXITS)
    expect(kept[0]).toBe('new')
    expect(kept).not.toContain('old0')
    expect(updates()[0].updateMask).toContain(`labels.${EXEC_EXIT_LABEL_PREFIX}old0`)
  })
})

describe('execProcess, detached', () => {
  it('marks the exec before Tasks.Start, and removes the mark when the start fails', async () => {
    fake.addContainer(NS, 'web', {task: 'running', pid: 100})
    fake.handle('Tasks.Exec', () => ({}))
    fake.handle('Tasks.DeleteProcess', ({execId}) => ({id: execId}))
    fake.handle('Tasks.Start', ({execId}) => {
      if (execId === 'bad') throw statusError(grpc.status.UNKNOWN, 'OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH')
      return {pid: 4242}
    })
    expect(await execProcess(client, {id: 'web', execId: 'good', args: ['sleep', '1']})).toEqual({id: 'web', execId: 'good', pid: 4242})
    const methods = () => fake.recorded.map((r) => r.method).filter((m) => m === 'Containers.Update' || m === 'Tasks.Exec' || m === 'Tasks.Start')
    // The mark goes in beside Tasks.Exec, both before Tasks.Start.
    expect(methods().slice(0, 2).sort()).toEqual(['Containers.Update', 'Tasks.Exec'])
    expect(methods()[2]).toBe('Tasks.Start')
    expect(updates()[0].container.labels).toEqual(mark('good', 100))

    await expect(execProcess(client, {id: 'web', execId: 'bad', args: ['nosuch']})).rejects.toThrow(/nosuch/)
    expect(updates().map((u) => u.updateMask)).toEqual([
      [`labels.${DETACHED_EXEC_LABEL_PREFIX}good`],
      [`labels.${DETACHED_EXEC_LABEL_PREFIX}bad`],
      [`labels.${DETACHED_EXEC_LABEL_PREFIX}bad`],
    ])
    expect(updates()[2].container.labels[`${DETACHED_EXEC_LABEL_PREFIX}bad`]).toBe('')

    // Tasks.Exec refused: the mark made beside it comes off again, after it landed.
    fake.handle('Tasks.Exec', () => {
      throw statusError(grpc.status.INVALID_ARGUMENT, 'bad spec')
    })
    await expect(execProcess(client, {id: 'web', execId: 'refused', args: ['true']})).rejects.toThrow(/bad spec/)
    expect(
      updates()
        .slice(3)
        .map((u) => u.container.labels[`${DETACHED_EXEC_LABEL_PREFIX}refused`]),
    ).toEqual([JSON.stringify({initPid: 100}), ''])
  })
})
