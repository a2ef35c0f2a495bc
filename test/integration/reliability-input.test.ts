/**
 * Reliability: bad input of every kind is one `ctr: ` line on stderr, exit 125, no stack trace, and leaves
 * nothing behind (container record, task, FIFO directory in the CLI's private TMPDIR, checkpoint directory).
 * Each case gets its own TMPDIR and CTR_CHECKPOINT_DIR; cases that reach containerd with a new ID use an ID
 * of their own, so the cases can run concurrently in one namespace.
 */
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {makeBundle, readBundleSpec} from '../helpers/bundle'
import {goCtr, uniqueName} from '../helpers/daemon'
import {errorShape, goTaskIds, leftovers, makeSandbox, removeNamespace} from '../helpers/leftovers'
import {runCli} from '../helpers/run-cli'

const {address} = inject('containerd')
const namespace = uniqueName('it-rel-input')
const RUNNING = 'rel-running'
const STOPPED = 'rel-stopped'
const FIXTURES = [RUNNING, STOPPED]

let root: string
let sleeper: string
/** Bad bundles by name, made in beforeAll. */
const bundles: Record<string, string> = {}

async function badBundle(name: string, edit: (spec: Record<string, any>) => unknown, extra?: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeBundle(join(root, name))
  const spec = await readBundleSpec(dir)
  const edited = edit(spec)
  if (typeof edited === 'string') await writeFile(join(dir, 'config.json'), edited)
  else await writeFile(join(dir, 'config.json'), JSON.stringify(edited ?? spec))
  await extra?.(dir)
  bundles[name] = dir
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-it-rel-input-'))
  sleeper = await makeBundle(join(root, 'sleeper'), ['sleep', '100000'])
  const quitter = await makeBundle(join(root, 'quitter'), ['true'])
  await Promise.all([
    badBundle('malformed', () => '{"ociVersion": "1.0.2", "process": {'),
    badBundle('args-not-array', (s) => ({...s, process: {...s.process, args: 'sleep 10'}})),
    badBundle('no-root', (s) => {
      delete s.root
      return s
    }),
    badBundle(
      'no-rootfs',
      (s) => s,
      (dir) => rm(join(dir, 'rootfs'), {recursive: true}),
    ),
    badBundle(
      'config-is-dir',
      (s) => s,
      async (dir) => {
        await rm(join(dir, 'config.json'))
        await mkdir(join(dir, 'config.json'))
      },
    ),
    badBundle(
      'no-config',
      (s) => s,
      (dir) => rm(join(dir, 'config.json')),
    ),
    badBundle('json-array', () => '[]'),
  ])
  await writeFile(join(root, 'regular-file'), 'not a bundle\n')
  const box = await makeSandbox(root)
  const env = box.env
  expect((await runCli(['containers', 'start', RUNNING, sleeper], {address, namespace, env})).code).toBe(0)
  expect((await runCli(['containers', 'start', STOPPED, quitter], {address, namespace, env})).code).toBe(0)
  // The quitter's task exits at once; wait until containerd has it as STOPPED.
  const deadline = Date.now() + 10_000
  for (;;) {
    const {stdout} = await goCtr(address, ['-n', namespace, 'tasks', 'ls'])
    if (new RegExp(`^${STOPPED}\\s+\\d+\\s+STOPPED`, 'm').test(stdout)) break
    if (Date.now() > deadline) throw new Error(`${STOPPED} never stopped: ${stdout}`)
    await new Promise((r) => setTimeout(r, 50))
  }
})

afterAll(async () => {
  await removeNamespace(address, namespace)
  if (root) await rm(root, {recursive: true, force: true})
})

type Case = [name: string, args: () => string[], message: RegExp, ids?: string[]]

const start =
  (id: string, bundle: () => string): (() => string[]) =>
  () => ['containers', 'start', id, bundle()]
const usage = /\(see 'ctr [a-z ]+--help'\)$/m

const cases: Case[] = [
  // Bundles
  ['missing bundle dir', start('b-missing', () => join(root, 'nope')), /bundle .*nope.* does not exist/, ['b-missing']],
  ['bundle is a regular file', start('b-file', () => join(root, 'regular-file')), /regular-file/, ['b-file']],
  ['config.json missing', start('b-noconf', () => bundles['no-config']), /config\.json/, ['b-noconf']],
  ['config.json is a directory', start('b-confdir', () => bundles['config-is-dir']), /config\.json/, ['b-confdir']],
  ['config.json malformed JSON', start('b-malformed', () => bundles.malformed), /config\.json/, ['b-malformed']],
  ['config.json a JSON array', start('b-array', () => bundles['json-array']), /config\.json/, ['b-array']],
  ['process.args not an array', start('b-args', () => bundles['args-not-array']), /args/, ['b-args']],
  ['root missing from config.json', start('b-noroot', () => bundles['no-root']), /root/, ['b-noroot']],
  ['rootfs directory missing', start('b-norootfs', () => bundles['no-rootfs']), /rootfs/, ['b-norootfs']],
  // IDs containerd rejects, and a duplicate
  ['empty ID', start('', () => sleeper), /invalid container ID ""/],
  ['ID ../x', start('../x', () => sleeper), /invalid container ID "\.\.\/x"/],
  ['ID a/b', start('a/b', () => sleeper), /invalid container ID "a\/b"/],
  ['ID of 77 characters', start('x'.repeat(77), () => sleeper), /invalid container ID "x{77}"/, ['x'.repeat(77)]],
  ['ID with a space', start('a b', () => sleeper), /invalid container ID "a b"/],
  ['duplicate ID (running container)', start(RUNNING, () => sleeper), new RegExp(`${RUNNING}.*already exists`)],
  ['duplicate ID (stopped container)', start(STOPPED, () => sleeper), new RegExp(`${STOPPED}.*already exists`)],
  ['start from a missing checkpoint', () => ['containers', 'start', '-c', 'nocp', 'b-nocp', sleeper], /checkpoint "nocp" not found/, ['b-nocp']],
  // Unknown IDs, every command
  ['kill unknown', () => ['containers', 'kill', 'ghost'], /"ghost".*not found/],
  ['exec unknown', () => ['containers', 'exec', '--id', 'ghost', '--', 'true'], /"ghost".*not found/],
  ['exec --attach unknown', () => ['containers', 'exec', '-a', '--id', 'ghost', '--', 'true'], /"ghost".*not found/],
  ['delete unknown', () => ['containers', 'delete', 'ghost'], /"ghost".*not found/],
  ['pause unknown', () => ['containers', 'pause', 'ghost'], /"ghost".*not found/],
  ['resume unknown', () => ['containers', 'resume', 'ghost'], /"ghost".*not found/],
  ['ps unknown', () => ['containers', 'ps', 'ghost'], /"ghost".*not found/],
  ['stats unknown', () => ['containers', 'stats', '--no-stream', 'ghost'], /"ghost"/],
  ['checkpoints list unknown', () => ['checkpoints', 'ghost'], /"ghost".*not found/],
  ['checkpoints create unknown', () => ['checkpoints', 'create', 'ghost', 'cp1'], /"ghost".*not found/],
  ['checkpoints delete unknown', () => ['checkpoints', 'delete', 'ghost', 'cp1'], /"ghost".*not found/],
  // Stopped containers
  ['exec into a stopped container', () => ['containers', 'exec', '--id', STOPPED, '--', 'true'], new RegExp(STOPPED)],
  ['pause a stopped container', () => ['containers', 'pause', STOPPED], new RegExp(STOPPED)],
  // Signals and PIDs
  ['signal by a bad name', () => ['containers', 'kill', '-s', 'BOGUS', RUNNING], /invalid signal "BOGUS"/],
  ['signal 65 (out of range)', () => ['containers', 'kill', '-s', '65', RUNNING], /invalid signal "65"/],
  ['signal 0', () => ['containers', 'kill', '-s', '0', RUNNING], /invalid signal "0"/],
  ['signal -1', () => ['containers', 'kill', '-s', '-1', RUNNING], /invalid signal "-1"/],
  ['negative --pid', () => ['containers', 'kill', '--pid', '-5', RUNNING], /invalid --pid "-5"/],
  ['non-numeric --pid', () => ['containers', 'kill', '--pid', 'abc', RUNNING], /invalid --pid "abc"/],
  // exec flags
  ['--env without =', () => ['containers', 'exec', '--id', RUNNING, '-e', 'NOEQ', '--', 'true'], /invalid --env entry #1/],
  ['--env with an empty key', () => ['containers', 'exec', '--id', RUNNING, '-e', 'A=1', '-e', '=x', '--', 'true'], /invalid --env entry #2/],
  ['--uid not a number', () => ['containers', 'exec', '--id', RUNNING, '--uid', 'abc', '--', 'true'], /invalid --uid "abc"/],
  ['--uid negative', () => ['containers', 'exec', '--id', RUNNING, '-u', '-1', '--', 'true'], /invalid --user "-1"/],
  ['--uid beyond 32 bits', () => ['containers', 'exec', '--id', RUNNING, '-u', '99999999999', '--', 'true'], /invalid --uid/],
  ['--gid not a number', () => ['containers', 'exec', '--id', RUNNING, '-g', 'abc', '--', 'true'], /invalid --gid "abc"/],
  ['--cwd relative', () => ['containers', 'exec', '--id', RUNNING, '--cwd', 'rel', '--', 'true'], /invalid --cwd "rel"/],
  // Filters, durations
  ['containers --filter without =', () => ['containers', '--filter', 'bad'], /invalid --filter "bad"/],
  ['containers --filter bad status', () => ['containers', '--filter', 'status=bogus'], /invalid --filter "status=bogus"/],
  ['containers --filter unknown key', () => ['containers', '--filter', 'color=red'], /invalid --filter "color=red"/],
  ['events --filter unparsable', () => ['events', '--filter', 'x=='], /invalid --filter/],
  ['--timeout not a duration', () => ['version', '--timeout', 'bogus'], /invalid --timeout "bogus"/],
  ['--timeout negative', () => ['--timeout', '-1s', 'version'], /invalid --timeout "-1s"/],
  ['stats --interval not a duration', () => ['containers', 'stats', '--interval', 'bogus', RUNNING], /invalid --interval "bogus"/],
  ['events --heartbeat not a duration', () => ['events', '--heartbeat', 'soon'], /--heartbeat/],
  // Usage errors: unknown flags, missing arguments
  ['unknown flag (start)', () => ['containers', 'start', '--bogus', 'x', sleeper], usage],
  ['unknown flag (kill)', () => ['containers', 'kill', '--nope', RUNNING], usage],
  ['unknown command (a suggestion or --help)', () => ['containerz'], /did you mean "containers"|--help/],
  ['start without arguments', () => ['containers', 'start'], usage],
  // With no SOURCE, start starts an existing container (as docker start): an unknown one is one line.
  ['start without a bundle (an unknown container)', () => ['containers', 'start', 'b-nobundle'], /container "b-nobundle" not found/],
  ['kill without an ID', () => ['containers', 'kill'], usage],
  ['exec without --id', () => ['containers', 'exec', '--', 'true'], /--id/],
  ['exec without a command', () => ['containers', 'exec', '--id', RUNNING], /missing command/],
  ['checkpoints create without a name', () => ['checkpoints', 'create', RUNNING], usage],
  ['--timeout without a value', () => ['version', '--timeout'], /--timeout/],
]

describe.concurrent('bad input: one line, exit 125, no stack trace, nothing left', () => {
  it.each(cases)('%s', async (_name, args, message, ids = []) => {
    const box = await makeSandbox(root)
    const result = await runCli(args(), {address, namespace, env: box.env, timeoutMs: 20_000})
    expect(errorShape(result), result.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(result.stderr).toMatch(message)
    expect(await leftovers(address, namespace, box, {keep: FIXTURES, only: ids})).toEqual([])
  })
})

describe('security of input', () => {
  it('an ID with shell metacharacters is rejected by the ID rule and never executed', async () => {
    const marker = join(root, 'pwned')
    for (const id of [`$(touch ${marker})`, `\`touch ${marker}\``, `x;touch ${marker}`]) {
      const box = await makeSandbox(root)
      for (const args of [
        ['containers', 'start', id, sleeper],
        ['containers', 'kill', id],
        ['containers', 'exec', '--id', id, '--', 'true'],
      ]) {
        const result = await runCli(args, {address, namespace, env: box.env})
        expect(errorShape(result), result.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      }
      expect(await leftovers(address, namespace, box, {keep: FIXTURES})).toEqual([])
    }
    expect(existsSync(marker)).toBe(false)
  })

  it.each([['../x'], ['a/b'], ['..'], ['/etc'], ['.hidden']])('checkpoint name %j is rejected before anything is written', async (name) => {
    const box = await makeSandbox(root)
    for (const args of [
      ['checkpoints', 'create', RUNNING, name],
      ['checkpoints', 'delete', RUNNING, name],
      ['containers', 'start', '-c', name, 'cp-x', sleeper],
    ]) {
      const result = await runCli(args, {address, namespace, env: box.env})
      expect(errorShape(result), result.stderr).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(result.stderr).toMatch(/invalid checkpoint name/)
    }
    expect(await leftovers(address, namespace, box, {keep: FIXTURES})).toEqual([])
    // The container was not touched (no checkpoint --exit, no pause left behind).
    expect((await goCtr(address, ['-n', namespace, 'tasks', 'ls'])).stdout).toMatch(new RegExp(`^${RUNNING}\\s+\\d+\\s+RUNNING`, 'm'))
  })

  it('a secret in --env is not echoed in errors, not even with --debug', async () => {
    for (const extra of [[], ['--debug']]) {
      const box = await makeSandbox(root)
      for (const args of [
        ['containers', 'exec', ...extra, '--id', STOPPED, '-e', 'SECRET=hunter2', '--', 'true'],
        ['containers', 'exec', ...extra, '--id', 'ghost', '-e', 'SECRET=hunter2', '--', 'true'],
        ['containers', 'exec', ...extra, '--id', RUNNING, '-e', 'SECRET=hunter2', '-e', 'hunter2', '--', 'true'],
        ['containers', 'exec', ...extra, '-a', '--id', RUNNING, '-e', 'SECRET=hunter2', '--', '/no/such/cmd'],
      ]) {
        const result = await runCli(args, {address, namespace, env: box.env})
        expect(result.code, result.stderr).not.toBe(0)
        expect(result.stderr + result.stdout).not.toContain('hunter2')
      }
      expect(await leftovers(address, namespace, box, {keep: FIXTURES})).toEqual([])
    }
  })
})

describe('bundle paths that work', () => {
  it('a relative and a symlinked bundle path start, and record the real absolute path', async () => {
    const link = join(root, 'sleeper-link')
    await symlink(sleeper, link)
    const box = await makeSandbox(root)
    // The CLI runs in this process's working directory, so a path relative to it is relative for ctr too.
    for (const [id, path] of [
      ['p-relative', relative(process.cwd(), sleeper)],
      ['p-symlink', link],
    ]) {
      const result = await runCli(['containers', 'start', '--json', id, path], {address, namespace, env: box.env})
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({id, bundle: sleeper})
    }
    const removed = await runCli(['containers', 'delete', '--force', 'p-relative', 'p-symlink'], {address, namespace, env: box.env})
    expect(removed.code, removed.stderr).toBe(0)
    expect(await leftovers(address, namespace, box, {keep: FIXTURES})).toEqual([])
  })
})

describe('after all cases', () => {
  it('the namespace holds only the fixtures, in their states', async () => {
    expect(await leftovers(address, namespace, undefined, {keep: FIXTURES})).toEqual([])
    expect(await goTaskIds(address, namespace)).toEqual(FIXTURES.slice().sort())
  })
})
