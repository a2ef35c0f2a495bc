/**
 * Contract of `ctr containers exec --attach` around Tasks.Start, against the recording fake containerd: the
 * process runs (and may print, and be signalled) before Start's answer reaches ctr. A SIGINT that arrives
 * then must go to the process once Start answers, never abort ctr. The real daemon only opens this window
 * under load (the integration test 'forwards SIGINT' flaked); the fake holds Start's answer to open it
 * every time.
 */
import {closeSync, constants, openSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {type FakeContainerd, startFakeContainerd} from '../helpers/fake-containerd'
import {exited} from '../helpers/line-reader'
import {spawnCli} from '../helpers/run-cli'

const NS = 'exec-signals'
let fake: FakeContainerd

beforeEach(async () => {
  fake = await startFakeContainerd()
  fake.addContainer(NS, 'web', {task: 'running'})
})

afterEach(async () => {
  await fake.stop()
})

/** An exec process in the fake: Start's answer waits for `answerStart`; a signal ends it with 128+N (or `exitOn`). */
function fakeExec(exitOn: Record<number, number> = {}) {
  let startCalled!: () => void
  const started = new Promise<void>((resolve) => (startCalled = resolve))
  let answerStart!: () => void
  const startAnswered = new Promise<void>((resolve) => (answerStart = resolve))
  let exit!: (status: number) => void
  const exitStatus = new Promise<number>((resolve) => (exit = resolve))
  const outputs: number[] = []
  fake.handle('Tasks.Exec', ({stdout, stderr}) => {
    // Our ends of ctr's output FIFOs, closed at exit, so ctr sees the output end (no drain grace period).
    for (const path of [stdout, stderr].filter(Boolean)) outputs.push(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))
    return {}
  })
  fake.handle('Tasks.Start', async () => {
    startCalled()
    await startAnswered
    return {pid: 4242}
  })
  fake.handle('Tasks.Kill', ({signal}) => exit(exitOn[signal] ?? 128 + signal))
  fake.handle('Tasks.Wait', async () => {
    const status = await exitStatus
    for (const fd of outputs.splice(0)) closeSync(fd)
    return {exitStatus: status, exitedAt: new Date()}
  })
  fake.handle('Tasks.DeleteProcess', () => ({}))
  return {started, answerStart}
}

describe('ctr containers exec --attach, signalled while Tasks.Start is under way', () => {
  it('forwards the SIGINT once Start answers and exits as the process does', async () => {
    const exec = fakeExec({2: 7})
    const child = spawnCli(['containers', 'exec', '-a', '--id', 'web', '--exec-id', 'e1', '--', 'sh'], {address: fake.address, namespace: NS})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await exec.started
    child.kill('SIGINT')
    // Give ctr time to act on the signal while Start is still unanswered (it must only hold it).
    await new Promise((resolve) => setTimeout(resolve, 300))
    exec.answerStart()
    expect((await exited(child)).code, stderr).toBe(7)
    expect(fake.requests('Tasks.Kill').map((r) => [r.request.execId, r.request.signal])).toEqual([['e1', 2]])
    expect(fake.requests('Tasks.DeleteProcess').map((r) => r.request.execId)).toEqual(['e1'])
  })
})
