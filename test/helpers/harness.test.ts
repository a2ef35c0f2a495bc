/**
 * Self-test of the integration harness: the shared daemon from global-setup, Go ctr as a probe, bundles, and
 * private daemons that restart, crash and clean up after themselves (daemon, shims, containers, directory).
 */
import {existsSync, lstatSync, readFileSync, readlinkSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, inject, it} from 'vitest'

import {makeBundle, readBundleSpec} from './bundle'
import {goCtr, isRunning, type PrivateDaemon, processesReferencing, startPrivateContainerd, uniqueName} from './daemon'

const ns = uniqueName('harness')

/** Go ctr's `run --config` wants an absolute root.path; the bundle keeps the relative one. */
async function absoluteConfig(bundle: string): Promise<string> {
  const spec = await readBundleSpec(bundle)
  spec.root.path = join(bundle, spec.root.path)
  const path = join(bundle, 'config.abs.json')
  await writeFile(path, JSON.stringify(spec))
  return path
}

function taskPid(tasksLs: string, id: string): number {
  const line = tasksLs.split('\n').find((l) => l.split(/\s+/)[0] === id)
  return line ? Number(line.split(/\s+/)[1]) : 0
}

describe('shared daemon (global setup)', () => {
  const {address, dir, bundle} = inject('containerd')

  it('answers Go ctr version with a server version', async () => {
    expect(address).toBe(join(dir, 'containerd.sock'))
    const r = await goCtr(address, ['version'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Server:\s*\n\s*Version:\s*\S+/)
  })

  it('lists containers in a namespace', async () => {
    const r = await goCtr(address, ['-n', 't', 'containers', 'ls'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^CONTAINER\s+IMAGE\s+RUNTIME/)
  })

  it('provides a sleep 3600 bundle', async () => {
    const spec = await readBundleSpec(bundle)
    expect(spec.process.args).toEqual(['sleep', '3600'])
    expect(spec.process.terminal).toBe(false)
    expect(spec.root).toEqual({path: 'rootfs', readonly: false})
    expect(existsSync(join(bundle, 'rootfs', 'bin', 'busybox'))).toBe(true)
  })
})

describe('makeBundle', () => {
  let tmp = ''
  afterAll(async () => {
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  it('makes a runnable bundle quickly, with args, env, terminal and the busybox applets', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ctr-bundle-test-'))
    await makeBundle(join(tmp, 'warm'))
    const started = Date.now()
    const b = await makeBundle(join(tmp, 'b'), ['sh', '-c', 'echo hi'], {terminal: true, env: ['FOO=bar', 'PATH=/bin']})
    expect(Date.now() - started).toBeLessThan(1000)
    const spec = await readBundleSpec(b)
    expect(spec.process.args).toEqual(['sh', '-c', 'echo hi'])
    expect(spec.process.terminal).toBe(true)
    expect(spec.process.env).toContain('FOO=bar')
    expect(spec.process.env.filter((e: string) => e.startsWith('PATH='))).toEqual(['PATH=/bin'])
    expect(spec.root.readonly).toBe(false)
    for (const applet of [
      'sh',
      'cat',
      'echo',
      'sleep',
      'id',
      'pwd',
      'stty',
      'ls',
      'true',
      'false',
      'yes',
      'head',
      'dd',
      'env',
      'top',
      'ps',
      'kill',
      'wc',
      'seq',
    ]) {
      expect(readlinkSync(join(b, 'rootfs', 'bin', applet)), applet).toBe('busybox')
    }
    expect(lstatSync(join(b, 'rootfs', 'tmp')).mode & 0o1777).toBe(0o1777)
    expect(readFileSync(join(b, 'rootfs', 'etc', 'passwd'), 'utf8')).toMatch(/^user:x:1000:1000:/m)
    await expect(makeBundle(b)).rejects.toThrow(/already holds a bundle/)
    await makeBundle(b, ['true'], {force: true})
    expect((await readBundleSpec(b)).process.args).toEqual(['true'])
  })

  it('runs under the shared daemon (Go ctr run --config), with root and user 1000 in /etc/passwd and a writable /tmp', async () => {
    const {address} = inject('containerd')
    const b = await makeBundle(join(tmp, 'run'), ['sh', '-c', 'id -u; id -u user; echo x > /tmp/f && cat /tmp/f; echo $PATH'])
    const r = await goCtr(address, ['-n', ns, 'run', '--rm', '--config', await absoluteConfig(b), 'harness-run'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('0\n1000\nx\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n')
    expect(r.code).toBe(0)
  })
})

describe('private daemon', () => {
  let daemon: PrivateDaemon | undefined
  afterAll(async () => {
    await daemon?.stop()
  })

  it('starts, survives restart and a crash with its tasks, and stop() leaves nothing behind', async () => {
    const started = Date.now()
    daemon = await startPrivateContainerd()
    const startMs = Date.now() - started
    expect(startMs).toBeLessThan(20_000)
    const {dir, address} = daemon
    expect(address.length).toBeLessThan(100)
    expect(existsSync(address)).toBe(true)
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).toContain(`address = "${address}"`)
    expect(isRunning(daemon.pid)).toBe(true)
    expect((await goCtr(daemon, ['version'])).code).toBe(0)

    // A detached container: a live shim and container process that stop() must clean up.
    const cfg = await absoluteConfig(daemon.bundle)
    const run = await goCtr(daemon, ['-n', ns, 'run', '-d', '--config', cfg, 'sleeper'])
    expect(run.stderr).toBe('')
    let ls = await goCtr(daemon, ['-n', ns, 'tasks', 'ls'])
    const sleeper = taskPid(ls.stdout, 'sleeper')
    expect(sleeper).toBeGreaterThan(0)
    expect(ls.stdout).toMatch(/sleeper\s+\d+\s+RUNNING/)
    const shims = processesReferencing(address)
    expect(shims.length).toBe(1)

    // Graceful restart: new PID, same socket, the task is still there and running.
    const pid1 = daemon.pid
    const restartStarted = Date.now()
    await daemon.restart()
    const restartMs = Date.now() - restartStarted
    expect(daemon.pid).not.toBe(pid1)
    expect(isRunning(pid1)).toBe(false)
    ls = await goCtr(daemon, ['-n', ns, 'tasks', 'ls'])
    expect(ls.stdout).toMatch(/sleeper\s+\d+\s+RUNNING/)

    // Crash: SIGKILL, then restart.
    const pid2 = daemon.pid
    daemon.kill('SIGKILL')
    const down = await goCtr(daemon, ['version'], {timeoutMs: 5_000})
    expect(down.code).not.toBe(0)
    await daemon.restart()
    expect(daemon.pid).not.toBe(pid2)
    ls = await goCtr(daemon, ['-n', ns, 'tasks', 'ls'])
    expect(taskPid(ls.stdout, 'sleeper')).toBe(sleeper)

    // stop(): daemon, shim and container gone, directory removed.
    const pid3 = daemon.pid
    const stopStarted = Date.now()
    await daemon.stop()
    const stopMs = Date.now() - stopStarted
    expect(isRunning(pid3)).toBe(false)
    expect(isRunning(sleeper)).toBe(false)
    for (const shim of shims) expect(isRunning(shim)).toBe(false)
    expect(processesReferencing(dir)).toEqual([])
    expect(existsSync(dir)).toBe(false)
    expect(existsSync(`/run/containerd/runc/${ns}/sleeper`)).toBe(false)
    await daemon.stop() // idempotent
    console.log(`private daemon: start ${startMs} ms, restart ${restartMs} ms, stop ${stopMs} ms`)
  })
})
