/**
 * Exec exit records through the library (the BUILT dist/index.js), as a program that runs detached execs
 * uses it: execProcess marks them, reapExecs (also run by listProcesses, execProcess and deleteExec, as by the
 * CLI) records their exits; only the newest MAX_EXEC_EXITS records stay on the container.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {eventually, type Fixture, setupFixture} from './containers-fixture'

type Library = typeof import('../../src/index')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(join(__dirname, '..', '..', 'dist', 'index.js')) as Library

let f: Fixture
let client: InstanceType<Library['ContainerdClient']>

beforeAll(async () => {
  f = await setupFixture('exec-exits')
  await f.run('many')
  client = new lib.ContainerdClient({address: f.address, namespace: f.namespace})
})

afterAll(async () => {
  client?.close()
  await f?.cleanup()
})

describe('reapExecs and the exit records (dist/index.js)', () => {
  it(`keeps the newest ${lib.MAX_EXEC_EXITS} exits, and each reaped process is gone from containerd`, async () => {
    const total = lib.MAX_EXEC_EXITS + 3
    for (let i = 0; i < total; i++) {
      const started = await lib.execProcess(client, {id: 'many', execId: `e${i}`, args: ['sh', '-c', `exit ${i % 7}`]})
      // Reaped once it has exited: one at a time, so the exit times (which rank the records) follow i.
      let reaped: Awaited<ReturnType<Library['reapExecs']>>['exits'] = []
      for (const until = Date.now() + 5000; reaped.length === 0 && Date.now() < until;) reaped = (await lib.reapExecs(client, 'many')).exits
      expect(reaped).toEqual([expect.objectContaining({execId: `e${i}`, pid: started.pid, exitStatus: i % 7})])
    }
    const {stdout} = await f.cli(['containers', 'info', '--json', 'many'])
    const labels = (JSON.parse(stdout) as {labels: Record<string, string>}).labels
    const kept = lib.execExits(labels).map((e) => e.execId)
    expect(kept).toHaveLength(lib.MAX_EXEC_EXITS)
    expect(kept[0]).toBe(`e${total - 1}`)
    expect(kept).not.toContain('e0')
    expect(kept).not.toContain('e2')
    expect(kept).toContain('e3')
    // containerd holds none of them: Go's ctr can take every ID
    expect((await f.go(['tasks', 'exec', '--exec-id', 'e0', 'many', 'true'])).code).toBe(0)
    expect((await f.go(['tasks', 'exec', '--exec-id', `e${total - 1}`, 'many', 'true'])).code).toBe(0)
  })

  it('deleteExec removes a record; with nothing marked a reap does nothing', async () => {
    expect(await lib.deleteExec(client, 'many', `e${lib.MAX_EXEC_EXITS + 2}`)).toEqual({id: 'many', execId: `e${lib.MAX_EXEC_EXITS + 2}`, removed: ['record']})
    expect((await lib.reapExecs(client, 'many')).exits).toEqual([])
    await expect(lib.deleteExec(client, 'many', 'nosuch')).rejects.toThrow('container "many" has no exec process "nosuch"')
  })

  it("a library user's detached exec is the CLI's: listProcesses and ctr ps --all both reap it", async () => {
    const lib1 = await lib.execProcess(client, {id: 'many', execId: 'lib1', args: ['sh', '-c', 'exit 5']})
    let listed: Awaited<ReturnType<Library['listProcesses']>> = []
    for (const until = Date.now() + 5000; !listed.some((p) => p.execId === 'lib1' && p.status === 'stopped') && Date.now() < until;) {
      listed = await lib.listProcesses(client, 'many', {all: true})
    }
    expect(listed.find((p) => p.execId === 'lib1')).toMatchObject({pid: lib1.pid, status: 'stopped', exitStatus: 5})
    const lib2 = await lib.execProcess(client, {id: 'many', execId: 'lib2', args: ['sh', '-c', 'exit 6']})
    await eventually(async () => (await f.go(['tasks', 'ps', 'many'])).stdout.trim().split('\n').length === 2, 'lib2 to exit')
    const ps = JSON.parse((await f.cli(['containers', 'ps', '--all', '--json', 'many'])).stdout) as Array<{execId: string; pid: number; exitStatus?: number}>
    expect(ps.find((p) => p.execId === 'lib2')).toMatchObject({pid: lib2.pid, exitStatus: 6})
  })
})
