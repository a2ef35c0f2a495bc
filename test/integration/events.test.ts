/**
 * `ctr events` against the real private containerd, as a subprocess with stdout to a pipe: rows must arrive
 * while it runs (not at exit), Ctrl-C must end it quietly with 130, and a daemon restart must not end it.
 * Containers are made with Go's ctr (`run -d --rootfs`), independent of our own start command.
 */
import type {ChildProcess} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, goRunDetached, type PrivateDaemon, startPrivateContainerd, uniqueName} from '../helpers/daemon'
import {exited, LineReader} from '../helpers/line-reader'
import {spawnCli} from '../helpers/run-cli'
import {PROBE_TOPIC, untilSubscribed} from '../helpers/wait'

const {address} = inject('containerd')
const namespace = uniqueName('it-events')
let tmp: string
let rootfs: string
const children: ChildProcess[] = []

async function run(daemon: string, id: string, args: string[] = ['sleep', '1000']) {
  const result = await goRunDetached(daemon, namespace, rootfs, id, args)
  expect(result.code, result.stderr).toBe(0)
}

async function remove(daemon: string, id: string) {
  await goCtr(daemon, ['-n', namespace, 'tasks', 'kill', '-s', 'KILL', id])
  await goCtr(daemon, ['-n', namespace, 'tasks', 'delete', '-f', id])
  await goCtr(daemon, ['-n', namespace, 'containers', 'delete', id])
}

function events(args: string[], daemon = address) {
  const child = spawnCli(['events', '--header', ...args], {address: daemon, namespace})
  children.push(child)
  return {child, out: new LineReader(child.stdout!), err: new LineReader(child.stderr!)}
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-it-events-'))
  rootfs = join(await makeBundle(join(tmp, 'bundle')), 'rootfs')
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  const {stdout} = await goCtr(address, ['-n', namespace, 'containers', 'list', '-q'])
  for (const id of stdout.split('\n').filter(Boolean)) await remove(address, id)
  await goCtr(address, ['namespaces', 'remove', namespace])
  await rm(tmp, {recursive: true, force: true})
})

describe('ctr events', () => {
  it('streams start and exit rows through a pipe as they happen; Ctrl-C exits 130 quietly', async () => {
    const table = events([])
    const json = events(['--json'])
    const exits = events(['--id', 'ev-a', '--filter', 'topic=="/tasks/exit"'])
    await table.out.waitFor(/^TYPE\s+ID\s+PID\s+STATUS$/)
    await exits.out.waitFor(/^TYPE/)
    // --json prints nothing until an event: probe events until it has printed one.
    await untilSubscribed(address, namespace, 'ev-probe', () => json.out.lines.some((l) => l.includes(`"topic":"${PROBE_TOPIC}"`)))

    const t0 = Date.now()
    await run(address, 'ev-a')
    const startRow = await table.out.waitFor(/^start\s+ev-a\s+\d+$/)
    const tStart = Date.now() - t0
    const pid = Number(startRow.split(/\s+/)[2])
    expect(pid).toBeGreaterThan(0)
    const startJson = JSON.parse(await json.out.waitFor((l) => l.includes('"type":"start"')))
    expect(startJson).toMatchObject({namespace, topic: '/tasks/start', type: 'start', id: 'ev-a', pid, event: {containerId: 'ev-a', pid}})
    expect(Date.parse(startJson.timestamp)).toBeGreaterThan(t0 - 5000)

    const t1 = Date.now()
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'kill', '-s', 'KILL', 'ev-a'])).code).toBe(0)
    await table.out.waitFor(new RegExp(`^exit\\s+ev-a\\s+${pid}\\s+137$`))
    const tExit = Date.now() - t1
    const exitJson = JSON.parse(await json.out.waitFor((l) => l.includes('"type":"exit"')))
    expect(exitJson).toMatchObject({
      topic: '/tasks/exit',
      type: 'exit',
      id: 'ev-a',
      pid,
      status: 137,
      event: {containerId: 'ev-a', id: 'ev-a', exitStatus: 137},
    })
    await exits.out.waitFor(/^exit\s+ev-a\s+\d+\s+137$/)
    // Every row was read while the processes were still running.
    for (const p of [table, json, exits]) expect(p.child.exitCode).toBeNull()
    // The --id/--filter subscriber saw only the exit.
    expect(exits.out.lines.filter((l) => l && !l.startsWith('TYPE'))).toEqual([expect.stringMatching(/^exit\s+ev-a/)])
    // The table also saw create before start; every JSON line parses.
    expect(table.out.lines.findIndex((l) => /^create\s+ev-a/.test(l))).toBeLessThan(table.out.lines.indexOf(startRow))
    for (const line of json.out.lines.filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow()

    for (const p of [table, json, exits]) p.child.kill('SIGINT')
    for (const p of [table, json, exits]) {
      expect(await exited(p.child)).toEqual({code: 130, signal: null})
      expect(p.err.text).toBe('')
    }
    console.log(`events: start row ${tStart} ms after \`ctr run\` began, exit row ${tExit} ms after the kill began`)
  })

  it('--exit-on waits for the exit and exits with its status; an already stopped task ends it at once', async () => {
    // The container must exist: an unknown --exit-on ID is an error (it would wait for ever).
    await run(address, 'ev-b', ['sh', '-c', 'sleep 2; exit 3'])
    const waiter = events(['--exit-on', 'ev-b'])
    await waiter.out.waitFor(/^TYPE/)
    expect(await exited(waiter.child, 15_000)).toEqual({code: 3, signal: null})
    expect(waiter.out.text).toMatch(/^exit\s+ev-b\s+\d+\s+3$/m)

    // ev-b's task is stopped but not deleted: nothing more will happen, Tasks.Get gives the status.
    const t0 = Date.now()
    const late = events(['--exit-on', 'ev-b'])
    expect(await exited(late.child, 15_000)).toEqual({code: 3, signal: null})
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(late.err.text).toBe('')
  })

  it('refuses a bad regex instead of waiting forever, and a daemon that is not there', async () => {
    const bad = events(['--filter', 'topic~="(unclosed"'])
    expect(await exited(bad.child)).toEqual({code: 125, signal: null})
    expect(bad.err.text).toMatch(/^ctr: invalid --filter .*bad regular expression/)
    // What only the daemon's parser catches comes back as a usage error too, without retries.
    const empty = events(['--filter', 'topic=='])
    expect(await exited(empty.child)).toEqual({code: 125, signal: null})
    expect(empty.err.text).toMatch(/^ctr: invalid --filter: .*topic==\]: expected value or quoted$/)
    const missing = events([], join(tmp, 'no.sock'))
    expect(await exited(missing.child)).toEqual({code: 125, signal: null})
    expect(missing.err.text).toMatch(/^ctr: cannot connect to containerd at .*no\.sock: no such file$/)
  })

  it('does not hang on a socket that accepts and never answers', async () => {
    const silent = createServer(() => undefined) // accepts, never speaks HTTP/2
    const path = join(tmp, 'silent.sock')
    await new Promise<void>((resolve) => silent.listen(path, resolve))
    try {
      const t0 = Date.now()
      const child = spawnCli(['events', '--call-timeout', '1s'], {address: path, namespace})
      const err = new LineReader(child.stderr!)
      expect(await exited(child, 10_000)).toEqual({code: 125, signal: null})
      expect(Date.now() - t0).toBeLessThan(5000)
      expect(err.text).toMatch(/^ctr: containerd at .*silent\.sock did not answer after 1s/)
    } finally {
      silent.close()
    }
  })
})

describe('ctr events across a daemon restart (own private containerd)', () => {
  let daemon: PrivateDaemon

  beforeAll(async () => {
    daemon = await startPrivateContainerd()
  }, 60_000)

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await daemon?.stop()
  }, 60_000)

  it('keeps running, reports the break and the reconnect, and prints events after the restart', async () => {
    const watcher = events([], daemon.address)
    await watcher.out.waitFor(/^TYPE/)
    await run(daemon.address, 'rs-a')
    await watcher.out.waitFor(/^start\s+rs-a\s+\d+$/)

    const t0 = Date.now()
    await daemon.restart()
    const tRestart = Date.now() - t0
    await watcher.err.waitFor(/^ctr: event stream lost \(.+\); reconnecting…$/, 15_000)
    const back = await watcher.err.waitFor(/^ctr: reconnected; events between \S+ and \S+ may have been missed$/, 20_000)
    const tBack = Date.now() - t0
    const [, from, to] = /between (\S+) and (\S+)/.exec(back)!
    expect(Date.parse(to)).toBeGreaterThanOrEqual(Date.parse(from))
    expect(watcher.child.exitCode).toBeNull()

    await run(daemon.address, 'rs-b')
    const row = await watcher.out.waitFor(/^start\s+rs-b\s+\d+$/)
    await goCtr(daemon.address, ['-n', namespace, 'tasks', 'kill', '-s', 'KILL', 'rs-b'])
    await watcher.out.waitFor(new RegExp(`^exit\\s+rs-b\\s+${row.split(/\s+/)[2]}\\s+137$`))

    watcher.child.kill('SIGINT')
    expect(await exited(watcher.child)).toEqual({code: 130, signal: null})
    expect(watcher.err.lines.filter(Boolean)).toHaveLength(2)
    console.log(`events: daemon restart took ${tRestart} ms; stream back ${tBack} ms after the restart began; stderr:\n${watcher.err.text}`)
  }, 60_000)

  it('retries with back-off through a longer outage (crash, 2 s down, start)', async () => {
    const watcher = events(['--debug'], daemon.address)
    await watcher.out.waitFor(/^TYPE/)
    daemon.kill('SIGKILL')
    await watcher.err.waitFor(/^ctr: event stream lost \(connection lost\); reconnecting…$/, 5000)
    await new Promise((r) => setTimeout(r, 2000))
    const t0 = Date.now()
    await daemon.restart()
    await watcher.err.waitFor(/^ctr: reconnected; /, 20_000)
    const tBack = Date.now() - t0
    // --debug shows the failed attempts: more than one while the daemon was down.
    expect(watcher.err.lines.filter((l) => /^ctr: still unreachable \(.+\); retry \d+ in \d+ ms$/.test(l)).length).toBeGreaterThanOrEqual(2)
    await run(daemon.address, 'rs-c')
    await watcher.out.waitFor(/^start\s+rs-c\s+\d+$/)
    watcher.child.kill('SIGINT')
    expect(await exited(watcher.child)).toEqual({code: 130, signal: null})
    console.log(`events: back ${tBack} ms after the daemon was started again; stderr:\n${watcher.err.text}`)
  }, 60_000)

  it('notices a daemon that stops answering without closing the socket (heartbeat)', async () => {
    const watcher = events(['--heartbeat', '500ms', '--call-timeout', '500ms'], daemon.address)
    await watcher.out.waitFor(/^TYPE/)
    const t0 = Date.now()
    daemon.kill('SIGSTOP')
    try {
      await watcher.err.waitFor(/^ctr: event stream lost \(daemon stopped answering: .+\); reconnecting…$/, 10_000)
    } finally {
      daemon.kill('SIGCONT')
    }
    const tLost = Date.now() - t0
    await watcher.err.waitFor(/^ctr: reconnected; /, 20_000)
    await run(daemon.address, 'rs-d')
    await watcher.out.waitFor(/^start\s+rs-d\s+\d+$/)
    watcher.child.kill('SIGINT')
    expect(await exited(watcher.child)).toEqual({code: 130, signal: null})
    console.log(`events: a frozen daemon was noticed after ${tLost} ms`)
  }, 60_000)

  it('--no-reconnect exits non-zero when the daemon goes away', async () => {
    const watcher = events(['--no-reconnect'], daemon.address)
    await watcher.out.waitFor(/^TYPE/)
    const t0 = Date.now()
    daemon.kill('SIGKILL')
    expect(await exited(watcher.child, 10_000)).toEqual({code: 125, signal: null})
    const tExit = Date.now() - t0
    expect(watcher.err.text).toMatch(/^ctr: event stream lost \(.+\)$/)
    await daemon.restart()
    console.log(`events --no-reconnect: exited ${tExit} ms after the daemon was killed`)
  }, 60_000)
})
