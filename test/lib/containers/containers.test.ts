import {describe, expect, it} from 'vitest'

import {BUNDLE_LABEL, checkContainerId, containerInfo, type ContainerInfo, matchesFilters, parseFilters} from '../../../src/lib/containers/containers'
import type {TaskInfo} from '../../../src/lib/tasks/tasks'

const info = (over: Partial<ContainerInfo>): ContainerInfo => ({id: 'a', bundle: '/b', image: '', status: 'running', pid: 1, labels: {}, runtime: 'r', ...over})

describe('parseFilters', () => {
  it('parses status, id and label filters', () => {
    expect(parseFilters(['status=running', 'id=web', 'label=app', 'label=app=web=1'])).toEqual([
      {key: 'status', value: 'running'},
      {key: 'id', value: 'web'},
      {key: 'label', name: 'app'},
      {key: 'label', name: 'app', value: 'web=1'},
    ])
  })
  for (const [text, message] of [
    ['colour=red', /invalid filter "colour=red": unknown field "colour"/],
    ['status=sleeping', /invalid filter "status=sleeping": status must be one of created, running/],
    ['status', /invalid filter "status"/],
    ['id=', /id needs a value/],
    ['label=', /label needs a key/],
  ] as const) {
    it(`rejects ${text} as a usage error naming it`, () => {
      expect(() => parseFilters([text])).toThrow(message)
      try {
        parseFilters([text])
      } catch (error) {
        expect((error as {kind: string}).kind).toBe('usage')
      }
    })
  }
})

describe('matchesFilters', () => {
  const web = info({id: 'web', status: 'running', labels: {app: 'web', tier: 'front'}})
  const db = info({id: 'db', status: 'stopped', labels: {app: 'db'}})
  const match = (texts: string[]) => [web, db].filter((c) => matchesFilters(c, parseFilters(texts))).map((c) => c.id)
  it('matches everything without filters', () => expect(match([])).toEqual(['web', 'db']))
  it('by status', () => expect(match(['status=stopped'])).toEqual(['db']))
  it('repeated status: any of them', () => expect(match(['status=stopped', 'status=running'])).toEqual(['web', 'db']))
  it('by id', () => expect(match(['id=web'])).toEqual(['web']))
  it('by label presence and value', () => {
    expect(match(['label=tier'])).toEqual(['web'])
    expect(match(['label=app=db'])).toEqual(['db'])
  })
  it('different keys: all must match', () => {
    expect(match(['status=running', 'label=app=db'])).toEqual([])
    expect(match(['status=running', 'label=app=web'])).toEqual(['web'])
  })
  it('repeated labels: all must match', () => expect(match(['label=app=web', 'label=tier=back'])).toEqual([]))
})

describe('containerInfo', () => {
  const container = {
    id: 'c',
    labels: {[BUNDLE_LABEL]: '/bundles/c'},
    image: '',
    runtime: {name: 'io.containerd.runc.v2'},
    snapshotter: '',
    snapshotKey: '',
    extensions: {},
    createdAt: new Date(0),
  }
  const task = (over: Partial<TaskInfo>): TaskInfo => ({
    id: 'c',
    pid: 42,
    status: 'running',
    terminal: false,
    stdio: {stdin: '', stdout: '', stderr: ''},
    ...over,
  })
  it('takes status and PID from the task and the bundle from the label', () => {
    expect(containerInfo(container, task({}))).toMatchObject({id: 'c', bundle: '/bundles/c', status: 'running', pid: 42, runtime: 'io.containerd.runc.v2'})
  })
  it('is created without a task (never started), stopped with an exited one or once ctr saw it exit', () => {
    expect(containerInfo(container, undefined)).toMatchObject({status: 'created', pid: 0})
    expect(containerInfo({...container, labels: {...container.labels, 'io.ctr.exit-status': '7'}}, undefined)).toMatchObject({
      status: 'stopped',
      pid: 0,
      exitStatus: 7,
    })
    expect(containerInfo(container, task({status: 'stopped', exitStatus: 3}))).toMatchObject({status: 'stopped', pid: 0, exitStatus: 3})
  })
  it('shows the image of containers made from one', () => {
    expect(containerInfo({...container, labels: {}, image: 'docker.io/library/redis:7'}, undefined)).toMatchObject({
      bundle: '',
      image: 'docker.io/library/redis:7',
    })
  })
})

describe('checkContainerId', () => {
  it('accepts containerd identifiers', () => {
    for (const id of ['a', 'web-1', 'a.b_c-d', 'A1', 'x'.repeat(76)]) expect(() => checkContainerId(id)).not.toThrow()
  })
  it('rejects others in one line', () => {
    for (const id of ['', 'bad id!', '-a', 'a-', 'a..b', 'x'.repeat(77), 'a/b']) expect(() => checkContainerId(id)).toThrow(/^invalid container ID /)
  })
})
