/**
 * Shared set-up of the containers-{kill,exec,pause,ps} integration tests: a namespace and a temp dir of
 * their own per test file, containers made with Go's ctr (`run -d --rootfs`, FIFOs in the temp dir, never in
 * the system's /run/containerd/fifo), and the CLI run with TMPDIR inside the temp dir so any FIFO directory
 * it leaves behind is seen.
 */
import {mkdir, mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect, inject} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, uniqueName} from '../helpers/daemon'
import {removeNamespace} from '../helpers/leftovers'
import {type RunOptions, runCli, spawnCli} from '../helpers/run-cli'

export interface Fixture {
  address: string
  namespace: string
  /** TMPDIR of the CLI: must be empty after every command. */
  cliTmp: string
  go(args: string[]): ReturnType<typeof goCtr>
  /** Starts a container with Go's ctr, default `sleep 100000`. */
  run(id: string, args?: string[]): Promise<void>
  cli(args: string[], options?: RunOptions): ReturnType<typeof runCli>
  spawn(args: string[]): ReturnType<typeof spawnCli>
  /** `TASK PID STATUS` rows of Go's `ctr tasks ls`, by task ID. */
  goTasks(): Promise<Map<string, {pid: number; status: string}>>
  leftovers(): Promise<string[]>
  cleanup(): Promise<void>
}

export async function setupFixture(name: string): Promise<Fixture> {
  const {address} = inject('containerd')
  const namespace = uniqueName(`it-${name}`)
  const tmp = await mkdtemp(join(tmpdir(), `ctr-it-${name}-`))
  const fifoDir = join(tmp, 'go-fifo')
  const cliTmp = join(tmp, 'cli-tmp')
  await mkdir(fifoDir)
  await mkdir(cliTmp)
  const rootfs = join(await makeBundle(join(tmp, 'bundle')), 'rootfs')
  const env = {TMPDIR: cliTmp}

  const go = (args: string[]) => goCtr(address, ['-n', namespace, ...args])
  const fixture: Fixture = {
    address,
    namespace,
    cliTmp,
    go,
    async run(id, args = ['sleep', '100000']) {
      const result = await go(['run', '-d', '--fifo-dir', fifoDir, '--runtime', 'io.containerd.runc.v2', '--env', 'PATH=/bin', '--rootfs', rootfs, id, ...args])
      expect(result.code, result.stderr).toBe(0)
    },
    cli: (args, options = {}) => runCli(args, {address, namespace, ...options, env: {...env, ...options.env}}),
    spawn: (args) => spawnCli(args, {address, namespace, env}),
    async goTasks() {
      const {stdout} = await go(['tasks', 'ls'])
      const rows = new Map<string, {pid: number; status: string}>()
      for (const line of stdout.trim().split('\n').slice(1)) {
        const [id, pid, status] = line.trim().split(/\s+/)
        rows.set(id, {pid: Number(pid), status})
      }
      return rows
    },
    leftovers: () => readdir(cliTmp),
    async cleanup() {
      await removeNamespace(address, namespace)
      await rm(tmp, {recursive: true, force: true})
    },
  }
  return fixture
}

/** A failure of ctr itself: exit 125 and exactly one `ctr: ...` line on stderr matching `message`. */
export function expectOneLineError(result: {code: number | null; stdout: string; stderr: string}, message: RegExp, code = 125): void {
  expect(result.code, result.stderr).toBe(code)
  expect(result.stderr).toMatch(/^ctr: [^\n]+\n$/)
  expect(result.stderr).toMatch(message)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until check() holds (or fails the test after timeoutMs). */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}
