/**
 * `ctr containers start ID BUNDLE` (detached) against the real private containerd, cross-checked with Go's
 * ctr: the container runs with the PID ctr reports, shows in the table, -q and --json, only in its own
 * namespace; bad bundles, IDs and commands are one line (125/126/127) and leave nothing behind (no
 * container record, no task, no FIFO directory).
 */
import {mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let sleeper: string

beforeAll(async () => {
  f = await setupFixture('start')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-start-bundles-'))
  sleeper = await makeBundle(join(dir, 'sleeper'), ['sleep', '100000'])
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const start = (id: string, bundle: string, extra: string[] = []) => f.cli(['containers', 'start', ...extra, id, bundle])

async function expectNothingLeft(): Promise<void> {
  expect((await f.go(['containers', 'list', '-q'])).stdout.trim()).toBe('')
  expect((await f.goTasks()).size).toBe(0)
  expect(await f.leftovers()).toEqual([])
}

async function removeAll(): Promise<void> {
  const {stdout} = await f.cli(['containers', '-q'])
  if (stdout.trim()) expect((await f.cli(['containers', 'rm', '--force', ...stdout.trim().split('\n')])).code).toBe(0)
}

describe('ctr containers start (detached)', () => {
  it('starts the container: Go ctr sees it RUNNING with the PID that --json reports; table and -q show it', async () => {
    const result = await start('s-web', sleeper)
    expect(result).toMatchObject({code: 0, stdout: '', stderr: ''})

    const listed = JSON.parse((await f.cli(['containers', '--json'])).stdout)
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({id: 's-web', bundle: sleeper, status: 'running', runtime: 'io.containerd.runc.v2', labels: {'io.ctr.bundle': sleeper}})
    expect(listed[0].pid).toBeGreaterThan(0)
    expect(Date.parse(listed[0].created)).toBeGreaterThan(Date.now() - 60_000)
    expect((await f.goTasks()).get('s-web')).toEqual({pid: listed[0].pid, status: 'RUNNING'})

    const table = (await f.cli(['containers'])).stdout.trim().split('\n')
    expect(table[0].split(/\s+/)).toEqual(['ID', 'PATH', 'STATUS', 'PID1'])
    expect(table[1].split(/\s+/)).toEqual(['s-web', sleeper, 'running', String(listed[0].pid)])
    expect((await f.cli(['containers', '-q'])).stdout).toBe('s-web\n')
    expect(await f.leftovers()).toEqual([])
  })

  it('namespaces isolate: the container is not listed in another namespace', async () => {
    const other = await f.cli(['containers', '-q'], {namespace: `${f.namespace}-other`})
    expect(other).toMatchObject({code: 0, stdout: ''})
    const viaFlag = await f.cli(['-n', `${f.namespace}-other`, 'containers', '--json'])
    expect(JSON.parse(viaFlag.stdout)).toEqual([])
  })

  it('--json returns the started container', async () => {
    const result = await start('s-json', sleeper, ['--json'])
    expect(result.code, result.stderr).toBe(0)
    const started = JSON.parse(result.stdout)
    expect(started).toMatchObject({id: 's-json', bundle: sleeper, namespace: f.namespace, terminal: false})
    expect((await f.goTasks()).get('s-json')?.pid).toBe(started.pid)
    await removeAll()
  })

  it('accepts relative and symlinked bundle paths, and records the real absolute path', async () => {
    await symlink(sleeper, join(dir, 'link'))
    const result = await start('s-link', relative(process.cwd(), join(dir, 'link')))
    expect(result.code, result.stderr).toBe(0)
    const [listed] = JSON.parse((await f.cli(['containers', '--json'])).stdout)
    expect(listed).toMatchObject({id: 's-link', bundle: sleeper, status: 'running'})
    await removeAll()
  })

  it('runs a bundle whose spec asks for a terminal (detached: without one), with a default PATH added', async () => {
    const bundle = await makeBundle(join(dir, 'terminal'), ['sh', '-c', 'echo started > /ran; sleep 100000'], {terminal: true})
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'))
    config.process.env = config.process.env.filter((e: string) => !e.startsWith('PATH='))
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config))
    const result = await start('s-term', bundle)
    expect(result.code, result.stderr).toBe(0)
    await eventually(async () => (await readFile(join(bundle, 'rootfs', 'ran'), 'utf8').catch(() => '')) === 'started\n', 'the process to run')
    expect((await f.goTasks()).get('s-term')?.status).toBe('RUNNING')
    await removeAll()
  })

  it('a detached container that writes a lot never blocks on its output', async () => {
    // 2 MB, far more than a pipe holds: with an undrained FIFO the writer would stall.
    const bundle = await makeBundle(join(dir, 'chatty'), [
      'sh',
      '-c',
      'i=0; while [ $i -lt 20000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done; echo done > /done; sleep 100000',
    ])
    expect((await start('s-chatty', bundle)).code).toBe(0)
    await eventually(async () => (await readFile(join(bundle, 'rootfs', 'done'), 'utf8').catch(() => '')) === 'done\n', 'the writer to finish', 20_000)
    await removeAll()
  })

  it('a duplicate ID is one line, and the existing container is untouched', async () => {
    expect((await start('s-dup', sleeper)).code).toBe(0)
    const pid = (await f.goTasks()).get('s-dup')?.pid
    expectOneLineError(await start('s-dup', sleeper), /^ctr: container "s-dup" already exists$/m)
    expect((await f.goTasks()).get('s-dup')).toEqual({pid, status: 'RUNNING'})
    expect(await f.leftovers()).toEqual([])
    await removeAll()
    await expectNothingLeft()
  })
})

describe('startContainer (library, built dist) on one client', () => {
  it('runs many starts concurrently: each runs with its own PID; duplicates and bad bundles fail alone', async () => {
    type Library = typeof import('../../src/index')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require(join(__dirname, '..', '..', 'dist', 'index.js')) as Library
    const client = new lib.ContainerdClient({address: f.address, namespace: f.namespace})
    try {
      const ids = Array.from({length: 12}, (_, i) => `c-${i % 10}`) // c-0 and c-1 twice
      const requests = [...ids.map((id) => ({id, bundle: sleeper})), {id: 'c-bad', bundle: join(dir, 'missing')}]
      const results = await Promise.allSettled(requests.map((options) => lib.startContainer(client, options)))
      const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []))
      expect(started.map((s) => s.id).sort()).toEqual(Array.from({length: 10}, (_, i) => `c-${i}`))
      expect(failed.sort()).toEqual([expect.stringMatching(/missing does not exist/), 'container "c-0" already exists', 'container "c-1" already exists'])
      const go = await f.goTasks()
      for (const s of started) expect(go.get(s.id)).toEqual({pid: s.pid, status: 'RUNNING'})
      expect(new Set(started.map((s) => s.pid)).size).toBe(10)
      expect(go.size).toBe(10)
    } finally {
      client.close()
    }
    await removeAll()
    await expectNothingLeft()
  })
})

describe('ctr containers start: failures leave nothing behind', () => {
  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['a missing bundle directory', async () => join(dir, 'missing'), /bundle .*\/missing does not exist/],
    ['no config.json', async () => mkdir(join(dir, 'noconfig'), {recursive: true}).then(() => join(dir, 'noconfig')), /noconfig\/config.json does not exist/],
    ['malformed JSON', () => bundleWith('malformed', '{"process": {'), /malformed\/config.json: invalid JSON/],
    [
      'args not an array',
      () => bundleWith('args', JSON.stringify({process: {args: 'sleep 1'}, root: {path: 'rootfs'}})),
      /args\/config.json: "process.args" must be a non-empty array of strings/,
    ],
    ['no root', () => bundleWith('noroot', JSON.stringify({process: {args: ['sh']}})), /noroot\/config.json: "root" must be an object/],
    [
      'a missing rootfs',
      () => bundleWith('norootfs', JSON.stringify({process: {args: ['sh']}, root: {path: 'nothere'}}), false),
      /root filesystem .*\/nothere \(root.path in .*norootfs\/config.json\) does not exist/,
    ],
  ]
  it.each(cases)('%s: one line naming the file, exit 125', async (_name, make, message) => {
    const bundle = await make()
    expectOneLineError(await start('s-bad', bundle), message)
    expectOneLineError(await start('s-bad', bundle, ['--attach']), message)
    await expectNothingLeft()
  })

  it.each(['bad id!', '-lead', 'a..b', 'x'.repeat(77)])('a bad ID (%s) is one line, exit 125', async (id) => {
    expectOneLineError(await f.cli(['containers', 'start', '--', id, sleeper]), /invalid container ID/)
    await expectNothingLeft()
  })

  it('a command that does not exist: 127, nothing left (detached and attached)', async () => {
    const bundle = await makeBundle(join(dir, 'nocmd'), ['no-such-command'])
    expectOneLineError(await start('s-nocmd', bundle), /"no-such-command": executable file not found/, 127)
    expectOneLineError(await start('s-nocmd', bundle, ['-a']), /"no-such-command": executable file not found/, 127)
    await expectNothingLeft()
  })

  it('a command that is not executable: 126, nothing left', async () => {
    const bundle = await makeBundle(join(dir, 'noexec'), ['/etc/passwd'])
    expectOneLineError(await start('s-noexec', bundle, ['-a']), /"\/etc\/passwd": permission denied/, 126)
    await expectNothingLeft()
  })

  it('a runtime failure after the container record exists (unusable cwd) rolls everything back', async () => {
    // runc creates a missing cwd, but not one under a file.
    const bundle = await makeBundle(join(dir, 'badcwd'))
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'))
    config.process.cwd = '/etc/passwd/sub'
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config))
    expectOneLineError(await start('s-cwd', bundle), /^ctr: cannot start container "s-cwd": .*not a directory$/m)
    expectOneLineError(await start('s-cwd', bundle, ['-a']), /^ctr: cannot start container "s-cwd": .*not a directory$/m)
    await expectNothingLeft()
  })

  it('--tty and --rm need --attach', async () => {
    expectOneLineError(await start('s-x', sleeper, ['--tty']), /--tty needs --attach/)
    expectOneLineError(await start('s-x', sleeper, ['--rm']), /--rm needs --attach/)
    await expectNothingLeft()
  })
})

async function bundleWith(name: string, config: string, rootfs = true): Promise<string> {
  const path = join(dir, name)
  await mkdir(path, {recursive: true})
  if (rootfs) await mkdir(join(path, 'rootfs'), {recursive: true})
  await writeFile(join(path, 'config.json'), config)
  return path
}
