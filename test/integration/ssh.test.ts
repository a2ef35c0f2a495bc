/**
 * ssh:// addresses against a private sshd on 127.0.0.1 (test/helpers/sshd.ts) and two private containerds as
 * two nodes: the suite's and one of this file's. Listing, kill and events through the tunnel; two nodes in one
 * listing; a wrong port, a refused key and a missing remote socket as one line naming the host, within the
 * connect deadline; what needs the daemon's files refused. After every ctr: no ssh process it started is left
 * (found in /proc by the tunnel directory, which carries ctr's PID) and no tunnel directory.
 */
import {type ChildProcess} from 'node:child_process'

import {afterAll, afterEach, beforeAll, describe, expect, inject, it} from 'vitest'

import {goCtr, goRunDetached, type PrivateDaemon, startPrivateContainerd, uniqueName} from '../helpers/daemon'
import {errorShape, removeNamespace} from '../helpers/leftovers'
import {LineReader} from '../helpers/line-reader'
import {type RunResult, spawnCli} from '../helpers/run-cli'
import {alive, type PrivateSshd, sshdAvailable, sshProcessesNaming, startSshd, tunnelDirs} from '../helpers/sshd'

const suite = inject('containerd')
const namespace = uniqueName('it-ssh')
let sshd: PrivateSshd
let second: PrivateDaemon

/** Tunnel directories and ssh processes of the ctr with this PID (its owner token is `<ns>.<pid>.<start>`). */
function leftBy(pid: number): {ssh: number[]; dirs: string[]} {
  const mark = `.${pid}.`
  return {ssh: sshProcessesNaming('/ctr-ssh-', mark), dirs: tunnelDirs().filter((d) => d.includes(mark))}
}

/** ssh gets SIGTERM at ctr's exit: give it a moment to go, then nothing of this ctr may be left. */
async function expectNothingLeft(pid: number): Promise<void> {
  const until = Date.now() + 3000
  let left = leftBy(pid)
  while ((left.ssh.length || left.dirs.length) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50))
    left = leftBy(pid)
  }
  expect(left).toEqual({ssh: [], dirs: []})
}

function finish(child: ChildProcess, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`ctr did not finish within ${timeoutMs} ms: ${stderr}`))
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolveRun({code, signal, stdout, stderr})
    })
  })
}

/** Runs ctr with the test's ssh command; checks afterwards that it left no ssh and no tunnel directory. */
async function ctr(args: string[], options: {key?: string; env?: Record<string, string>} = {}): Promise<RunResult & {ms: number}> {
  const started = Date.now()
  const child = spawnCli(args, {namespace, env: {CTR_SSH_COMMAND: sshd.sshCommand(options.key), ...options.env}})
  child.stdin!.end()
  const result = await finish(child)
  const ms = Date.now() - started
  await expectNothingLeft(child.pid!)
  return {...result, ms}
}

const viaSsh = (socket: string) => sshd.url(socket)

/** Long-running ctr processes (events) of the current case: ended with SIGTERM if a failed case left them. */
const running = new Set<ChildProcess>()
function spawnTracked(args: string[]): ChildProcess {
  const child = spawnCli(args, {namespace, env: {CTR_SSH_COMMAND: sshd.sshCommand()}})
  child.stdin!.end()
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

afterEach(() => {
  for (const child of running) child.kill('SIGTERM')
})

beforeAll(async () => {
  if (!sshdAvailable()) throw new Error('sshd is not installed: run scripts/install-deps.sh (openssh-server)')
  sshd = await startSshd()
  second = await startPrivateContainerd()
  expect((await goRunDetached(suite.address, namespace, `${suite.bundle}/rootfs`, 'on-a')).code).toBe(0)
  expect((await goRunDetached(second, namespace, `${second.bundle}/rootfs`, 'on-b')).code).toBe(0)
}, 60_000)

afterAll(async () => {
  await removeNamespace(suite.address, namespace)
  await second?.stop()
  await sshd?.stop()
})

describe('ctr -a ssh://', () => {
  it('lists the containers of the remote containerd', async () => {
    const result = await ctr(['-a', viaSsh(suite.address), 'containers', '-q'])
    expect(result).toMatchObject({code: 0, stdout: 'on-a\n', stderr: ''})
  })

  it('CONTAINERD_ADDRESS=ssh://... works as -a does', async () => {
    const result = await ctr(['containers', '--json'], {env: {CONTAINERD_ADDRESS: viaSsh(second.address)}})
    expect(result.code).toBe(0)
    expect((JSON.parse(result.stdout) as Array<{id: string}>).map((c) => c.id)).toEqual(['on-b'])
  })

  it('kills a task through the tunnel', async () => {
    expect((await goRunDetached(suite.address, namespace, `${suite.bundle}/rootfs`, 'victim')).code).toBe(0)
    const result = await ctr(['-a', viaSsh(suite.address), 'containers', 'kill', '-s', 'KILL', 'victim'])
    expect(result).toMatchObject({code: 0, stderr: ''})
    const until = Date.now() + 10_000
    let tasks = ''
    while (Date.now() < until) {
      tasks = (await goCtr(suite.address, ['-n', namespace, 'tasks', 'ls'])).stdout
      if (/victim\s+\d+\s+STOPPED/.test(tasks)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(tasks).toMatch(/victim\s+\d+\s+STOPPED/)
  })

  it('streams events through the tunnel; SIGTERM ends ctr, its ssh and the socket', async () => {
    const child = spawnTracked(['-a', viaSsh(suite.address), 'events'])
    const done = finish(child)
    // The tunnel is up once ssh has its socket; then create a namespace, which the stream shows.
    const until = Date.now() + 10_000
    while (leftBy(child.pid!).ssh.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    const ssh = leftBy(child.pid!).ssh
    expect(ssh).toHaveLength(1)
    const lines = new LineReader(child.stdout!)
    // The subscription may start just after the tunnel: label the container until an update is seen.
    const seen = lines.waitFor(/update\s+on-a/, 15_000)
    const labeller = (async () => {
      for (let i = 0; i < 30 && !(await Promise.race([seen.then(() => true), new Promise((r) => setTimeout(() => r(false), 300))])); i++) {
        await goCtr(suite.address, ['-n', namespace, 'containers', 'label', 'on-a', `seen=${i}`])
      }
    })()
    expect(await seen).toContain('on-a')
    await labeller
    child.kill('SIGTERM')
    const result = await done
    expect(result.code).toBe(143)
    await expectNothingLeft(child.pid!)
    expect(ssh.filter(alive)).toEqual([])
  })

  it('two nodes in one listing: a NODE column, node in JSON, both asked', async () => {
    const result = await ctr(['-a', viaSsh(suite.address), '-a', viaSsh(second.address), 'containers'])
    expect(result).toMatchObject({code: 0, stderr: ''})
    const rows = result.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^NODE\s+ID\s+PATH\s+STATUS\s+PID1$/)
    expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 2))).toEqual(
      expect.arrayContaining([
        [`root@127.0.0.1:${sshd.port}${suite.address}`, 'on-a'],
        [`root@127.0.0.1:${sshd.port}${second.address}`, 'on-b'],
      ]),
    )
    const json = await ctr(['-a', `${viaSsh(second.address)},${suite.address}`, 'containers', '--json'])
    expect(json.code).toBe(0)
    const nodes = (JSON.parse(json.stdout) as Array<{id: string; node: string}>).map((c) => [c.node, c.id])
    expect(nodes).toContainEqual([`root@127.0.0.1:${sshd.port}${second.address}`, 'on-b'])
    expect(nodes).toContainEqual([suite.address, 'on-a'])
    // --address repeated after the command, as docker users write flags: the same two nodes.
    const after = await ctr(['containers', '-q', '--address', suite.address, '--address', second.address])
    expect(after).toMatchObject({code: 0, stderr: ''})
    expect(after.stdout.trim().split('\n')).toEqual(expect.arrayContaining(['on-a', 'on-b']))
  })

  it('stats --no-stream of two nodes: NODE first, node in JSON; streaming several nodes is refused', async () => {
    const [a, b] = [viaSsh(suite.address), viaSsh(second.address)]
    const table = await ctr(['-a', a, '-a', b, 'containers', 'stats', '--no-stream', '--interval', '200ms'])
    expect(table).toMatchObject({code: 0, stderr: ''})
    const rows = table.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^NODE\s+ID\s+CPU %\s+MEM USAGE/)
    expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 2))).toEqual(
      expect.arrayContaining([
        [`root@127.0.0.1:${sshd.port}${suite.address}`, 'on-a'],
        [`root@127.0.0.1:${sshd.port}${second.address}`, 'on-b'],
      ]),
    )
    const json = await ctr(['-a', `${a},${b}`, 'containers', 'stats', '--no-stream', '--json', '--interval', '200ms'])
    expect(json.code, json.stderr).toBe(0)
    const seen = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {node: string; id: string; pids: number})
    expect(seen.map((s) => [s.node, s.id])).toContainEqual([`root@127.0.0.1:${sshd.port}${second.address}`, 'on-b'])
    expect(seen.find((s) => s.id === 'on-a')?.pids).toBeGreaterThan(0)
    const streaming = await ctr(['-a', `${a},${b}`, 'containers', 'stats'])
    expect(errorShape(streaming)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(streaming.stderr).toMatch(/takes --no-stream/)
  })

  it('events from two nodes in one stream, each row with its node; SIGTERM ends both tunnels', async () => {
    const child = spawnTracked(['-a', viaSsh(suite.address), '-a', viaSsh(second.address), 'events'])
    const done = finish(child)
    const lines = new LineReader(child.stdout!)
    const fromA = lines.waitFor(new RegExp(`^root@127\\.0\\.0\\.1:${sshd.port}${suite.address}\\s+container-update\\s+on-a$`), 15_000)
    const fromB = lines.waitFor(new RegExp(`^root@127\\.0\\.0\\.1:${sshd.port}${second.address}\\s+container-update\\s+on-b$`), 15_000)
    let both = false
    void Promise.all([fromA, fromB]).then(() => (both = true))
    for (let i = 0; i < 40 && !both; i++) {
      await goCtr(suite.address, ['-n', namespace, 'containers', 'label', 'on-a', `seen=${i}`])
      await goCtr(second, ['-n', namespace, 'containers', 'label', 'on-b', `seen=${i}`])
      await new Promise((r) => setTimeout(r, 300))
    }
    await Promise.all([fromA, fromB])
    expect(leftBy(child.pid!).ssh).toHaveLength(2)
    child.kill('SIGTERM')
    expect((await done).code).toBe(143)
    await expectNothingLeft(child.pid!)
  })

  it('a node that fails is one line on stderr; the others still print; exit 125', async () => {
    const wrong = `ssh://root@127.0.0.1:${sshd.port}/no/such.sock`
    const result = await ctr(['-a', viaSsh(second.address), '-a', wrong, 'containers', '-q'])
    expect(result.code).toBe(125)
    expect(result.stdout).toBe('on-b\n')
    expect(errorShape(result)).toMatchObject({oneLine: true, stack: false})
    expect(result.stderr).toContain('127.0.0.1')
  })

  it('several addresses for a command of one node: a usage line', async () => {
    const result = await ctr(['-a', viaSsh(suite.address), '-a', viaSsh(second.address), 'containers', 'kill', 'on-a'])
    expect(result.code).toBe(125)
    expect(result.stderr).toMatch(
      /^ctr: several addresses are for containers, images, namespaces, version, events and stats --no-stream; containers kill takes one\n$/,
    )
  })

  it.each([
    ['a wrong port', () => `ssh://root@127.0.0.1:1/${suite.address}`, undefined, /127\.0\.0\.1 port 1: Connection refused/],
    ['a refused key', () => viaSsh(suite.address), () => sshd.otherKey, /Permission denied \(publickey\)/],
    ['a missing remote socket', () => viaSsh('/run/no-such-containerd.sock'), undefined, /no containerd socket at \/run\/no-such-containerd\.sock there/],
  ])('%s: one line naming the host, well within the connect deadline, nothing left', async (_what, address, key, reason) => {
    const result = await ctr(['--connect-timeout', '8s', '-a', address(), 'containers'], {key: key?.()})
    expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(result.stderr).toContain(`cannot connect to containerd at ssh://root@127.0.0.1:`)
    expect(result.stderr).toMatch(reason)
    expect(result.ms).toBeLessThan(8000)
  })

  it('what needs files on the daemon host is refused in one line saying why', async () => {
    for (const args of [
      ['containers', 'logs', 'on-a'],
      ['containers', 'exec', '-a', '--id', 'on-a', 'true'],
      ['containers', 'start', '--no-log', 'from-bundle', suite.bundle],
      ['checkpoints', 'ls', 'on-a'],
      ['containers', 'cp', 'on-a:/etc/hostname', '-'],
      ['volumes'],
      ['volumes', 'create', 'data'],
      ['volumes', 'rm', 'data'],
      ['containers', 'start', '--no-log', '-v', 'data:/data', 'with-volume', suite.bundle],
      ['containers', 'start', '--no-log', '-v', '/tmp:/data', 'with-bind', suite.bundle],
    ]) {
      const result = await ctr(['-a', viaSsh(suite.address), ...args])
      expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(result.stderr).toMatch(/not available over ssh \(ssh:\/\/.*\): .* on containerd's host; .*run ctr there/)
    }
  })

  it("ctr killed with SIGKILL leaves its ssh: the next ctr's tunnel ends it and removes the directory", async () => {
    const child = spawnTracked(['-a', viaSsh(suite.address), 'events'])
    const done = finish(child)
    const until = Date.now() + 10_000
    while (leftBy(child.pid!).dirs.length === 0 || !leftBy(child.pid!).ssh.length) {
      if (Date.now() > until) throw new Error('no tunnel')
      await new Promise((r) => setTimeout(r, 20))
    }
    // Wait for the socket itself: ssh is running and forwarding.
    await new Promise((r) => setTimeout(r, 300))
    const orphan = leftBy(child.pid!)
    child.kill('SIGKILL')
    await done
    expect(orphan.ssh.filter(alive)).toHaveLength(1) // documented: nothing tells it ctr died
    const next = await ctr(['-a', viaSsh(suite.address), 'version'])
    expect(next.code).toBe(0)
    const gone = Date.now() + 3000
    while (orphan.ssh.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50))
    expect(orphan.ssh.filter(alive)).toEqual([])
    expect(leftBy(child.pid!)).toEqual({ssh: [], dirs: []})
  })
})
