/**
 * `ctr containers kill` against the real private containerd, cross-checked with Go's ctr: signals by name
 * and number stop the task with the matching exit status, --pid reaches an exec process, --all every
 * process, and bad input is one line (125) with the container untouched.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {exited, LineReader} from '../helpers/line-reader'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture('kill')
  await f.run('k-target')
})

afterAll(async () => {
  await f?.cleanup()
})

const kill = (args: string[]) => f.cli(['containers', 'kill', ...args])

async function status(id: string): Promise<string | undefined> {
  return (await f.goTasks()).get(id)?.status
}

/** Exit status of a stopped task, as Go's ctr reports it when deleting the task. */
async function deleteAndGetExitStatus(id: string): Promise<number> {
  const {stderr} = await f.go(['tasks', 'delete', id])
  const m = /exit code (\d+)/.exec(stderr)
  return m ? Number(m[1]) : 0
}

describe('ctr containers kill', () => {
  it.each([
    ['KILL', 137, 'k-name'],
    ['SIGKILL', 137, 'k-signame'],
    ['sigkill', 137, 'k-lower'],
    ['9', 137, 'k-number'],
  ])('-s %s stops the task (exit status %d)', async (signal, exitStatus, id) => {
    await f.run(id)
    expect(await status(id)).toBe('RUNNING')
    const result = await kill(['-s', signal, id])
    expect(result).toMatchObject({code: 0, stdout: '', stderr: ''})
    await eventually(async () => (await status(id)) === 'STOPPED', `${id} to stop`)
    expect(await deleteAndGetExitStatus(id)).toBe(exitStatus)
  })

  it('defaults to SIGTERM (an init that traps it exits as it chooses)', async () => {
    await f.run('k-term', ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'])
    await eventually(async () => (await status('k-term')) === 'RUNNING', 'k-term to run')
    expect((await kill(['k-term'])).code).toBe(0)
    await eventually(async () => (await status('k-term')) === 'STOPPED', 'k-term to stop')
    expect(await deleteAndGetExitStatus('k-term')).toBe(42)
  })

  it('--signal TERM on an exec process by --pid: the process dies with 143, the container keeps running', async () => {
    const child = f.spawn(['containers', 'exec', '-a', '--id', 'k-target', '--exec-id', 'victim', '--', 'sh', '-c', 'echo ready; exec sleep 1000'])
    await new LineReader(child.stdout!).waitFor(/^ready$/)
    const ps = JSON.parse((await f.cli(['containers', 'ps', '--json', 'k-target'])).stdout) as Array<{pid: number; execId: string}>
    const pid = ps.find((p) => p.execId === 'victim')!.pid
    const result = await kill(['--signal', 'TERM', '--pid', String(pid), '--json', 'k-target'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([{id: 'k-target', signal: 15, execId: 'victim', pid, all: false}])
    expect((await exited(child)).code).toBe(143)
    expect(await status('k-target')).toBe('RUNNING')
  })

  it('--pid of the init process signals the init; --all signals every process', async () => {
    await f.run('k-all', ['sh', '-c', 'sleep 1000 & sleep 1000'])
    const init = (await f.goTasks()).get('k-all')!.pid
    expect((await kill(['-s', '0', '-p', String(init), 'k-all'])).stderr).toMatch(/invalid signal "0"/)
    expect((await kill(['-s', 'CONT', '-p', String(init), 'k-all'])).code).toBe(0)
    const result = await kill(['--all', '-s', 'KILL', 'k-all'])
    expect(result.code, result.stderr).toBe(0)
    await eventually(async () => (await status('k-all')) === 'STOPPED', 'k-all to stop')
  })

  it('several IDs: kills each, reports each failure, exits non-zero', async () => {
    await f.run('k-m1')
    await f.run('k-m2')
    const result = await kill(['-s', 'KILL', 'k-m1', 'k-missing', 'k-m2', 'k-m1'])
    expect(result.code).toBe(125)
    expect(result.stderr).toBe(`ctr: container "k-missing" not found in namespace "${f.namespace}"\n`)
    await eventually(async () => (await status('k-m1')) === 'STOPPED' && (await status('k-m2')) === 'STOPPED', 'k-m1 and k-m2 to stop')
    // A stopped task cannot be signalled again: said in one line naming it.
    expectOneLineError(await kill(['k-m1']), /container "k-m1".*already finished/)
  })

  it.each([
    [['-s', 'NOPE', 'k-target'], /invalid signal "NOPE"/],
    [['-s', '99', 'k-target'], /invalid signal "99"/],
    [['-s', '-1', 'k-target'], /invalid signal "-1"/],
    [['-s', '', 'k-target'], /invalid signal ""|--signal/],
    [['-p', '-5', 'k-target'], /invalid --pid "-5"/],
    [['-p', 'x', 'k-target'], /invalid --pid "x"/],
    [['-p', '1', '--all', 'k-target'], /--pid and --all/],
    [['-p', '1', 'k-target'], /no process with PID 1 in container "k-target"/],
    [['k-unknown'], /container "k-unknown" not found/],
    [['--bogus', 'k-target'], /--bogus/],
    [[], /missing argument ID/],
  ])('one-line error for %j, the container untouched', async (args, message) => {
    expectOneLineError(await kill(args), message)
    expect(await status('k-target')).toBe('RUNNING')
  })

  it('a PID that is a child of an exec (not its main process) is refused, naming it', async () => {
    await f.run('k-child', ['sh', '-c', 'sleep 1000 & wait'])
    const ps = JSON.parse((await f.cli(['containers', 'ps', '--json', 'k-child'])).stdout) as Array<{pid: number; init: boolean}>
    const child = ps.find((p) => !p.init)!
    expectOneLineError(
      await kill(['-p', String(child.pid), 'k-child']),
      new RegExp(`PID ${child.pid} in container "k-child" is neither its init nor an exec process`),
    )
  })
})
