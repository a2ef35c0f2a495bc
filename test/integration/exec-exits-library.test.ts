/**
 * Exec exit records through the library (the BUILT dist/index.js), as a program that runs detached execs
 * would use it: execProcess then reapExec; only the newest MAX_EXEC_EXITS records stay on the container.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Fixture, setupFixture} from './containers-fixture'

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

describe('reapExec and the exit records (dist/index.js)', () => {
  it(`keeps the newest ${lib.MAX_EXEC_EXITS} exits, and each reaped process is gone from containerd`, async () => {
    const total = lib.MAX_EXEC_EXITS + 3
    for (let i = 0; i < total; i++) {
      const started = await lib.execProcess(client, {id: 'many', execId: `e${i}`, args: ['sh', '-c', `exit ${i % 7}`]})
      expect(await lib.reapExec(client, started)).toMatchObject({execId: `e${i}`, pid: started.pid, exitStatus: i % 7})
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

  it('deleteExec removes a record; a reap of a process that is gone ends quietly', async () => {
    expect(await lib.deleteExec(client, 'many', `e${lib.MAX_EXEC_EXITS + 2}`)).toEqual({id: 'many', execId: `e${lib.MAX_EXEC_EXITS + 2}`, removed: ['record']})
    expect(await lib.reapExec(client, {id: 'many', execId: 'nosuch', pid: 1})).toBeUndefined()
    await expect(lib.deleteExec(client, 'many', 'nosuch')).rejects.toThrow('container "many" has no exec process "nosuch"')
  })
})
