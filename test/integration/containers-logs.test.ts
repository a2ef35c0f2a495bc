/**
 * Logs of detached containers against the real private containerd: ctr's log writer, started by the shim
 * as the task's binary:// stdio, keeps stdout and stderr in the file ctr recorded (and names in a label); `logs` prints it (all, --tail, --follow until
 * the task exits with its status, Ctrl-C); it outlives a daemon restart; `delete` removes it unless
 * --keep-log; and every bad input is one line, non-zero, with nothing created.
 */
import {execFile, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {appendFile, chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, type PrivateDaemon, startPrivateContainerd, uniqueName} from '../helpers/daemon'
import {LineReader} from '../helpers/line-reader'
import {CLI, cliEnv, runCli, spawnCli} from '../helpers/run-cli'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let logDir: string
const env = () => ({CTR_LOG_DIR: logDir})
const cli = (args: string[]) => f.cli(args, {env: env()})
const logFile = (id: string) => join(logDir, f.namespace, `${id}.log`)
const goContainers = async () => (await f.go(['containers', 'list', '-q'])).stdout.split('\n').filter(Boolean)

/** A bundle whose process runs `script` (sh -c); the host sees its /tmp at <bundle>/rootfs/tmp. */
const shBundle = (name: string, script: string) => makeBundle(join(dir, name), ['sh', '-c', script])
const release = (bundle: string) => writeFile(join(bundle, 'rootfs', 'tmp', 'go'), '')
const WAIT_FOR_GO = 'while [ ! -e /tmp/go ]; do sleep 0.05; done'

beforeAll(async () => {
  f = await setupFixture('logs')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-logs-'))
  await chmod(dir, 0o755)
  logDir = join(dir, 'logs')
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('detached start keeps a log', () => {
  it('stdout and stderr both land in the log; logs prints them; the label and info name the file', async () => {
    const bundle = await shBundle('both', 'echo to-stdout; echo to-stderr >&2; exec sleep 100000')
    const started = await cli(['containers', 'start', '--json', 'both', bundle])
    expect(started.code, started.stderr).toBe(0)
    expect(JSON.parse(started.stdout).logPath).toBe(logFile('both'))
    await eventually(async () => (await cli(['containers', 'logs', 'both'])).stdout.split('\n').length >= 3, 'both lines in the log')
    const logs = await cli(['containers', 'logs', 'both'])
    expect(logs.code).toBe(0)
    expect(logs.stderr).toBe('')
    expect(logs.stdout.split('\n').filter(Boolean).sort()).toEqual(['to-stderr', 'to-stdout'])
    expect(await readFile(logFile('both'), 'utf8')).toBe(logs.stdout)
    // Go ctr sees the label and the shim's stdio URI.
    const goInfo = JSON.parse((await f.go(['containers', 'info', 'both'])).stdout)
    expect(goInfo.Labels['io.ctr.log-path']).toBe(logFile('both'))
    const info = JSON.parse((await cli(['containers', 'info', 'both'])).stdout)
    expect(info.logPath).toBe(logFile('both'))
    // The shim starts ctr's log writer for both streams, through the shell (binary:///bin/sh?-c=... exec NODE SCRIPT CONFIG).
    expect(info.task.stderr).toBe(info.task.stdout)
    const uri = new URL(info.task.stdout)
    expect(uri.protocol).toBe('binary:')
    expect(uri.pathname).toBe('/bin/sh')
    expect([...uri.searchParams][0][1]).toContain(JSON.stringify(logFile('both')))
  })

  it('--tail N prints the last N lines (0: none)', async () => {
    const bundle = await shBundle('tail', 'for i in 1 2 3 4 5; do echo line$i; done; exec sleep 100000')
    expect((await cli(['containers', 'start', 'tail', bundle])).code).toBe(0)
    await eventually(async () => (await cli(['containers', 'logs', 'tail'])).stdout.includes('line5'), 'line5')
    expect(await cli(['containers', 'logs', '--tail', '2', 'tail'])).toMatchObject({code: 0, stdout: 'line4\nline5\n'})
    expect(await cli(['containers', 'logs', '--tail', '0', 'tail'])).toMatchObject({code: 0, stdout: ''})
    expect(await cli(['containers', 'logs', '--tail', '99', 'tail'])).toMatchObject({code: 0, stdout: 'line1\nline2\nline3\nline4\nline5\n'})
  })

  it('logs -f shows a line written after it started and ends with the task, exiting with its status', async () => {
    const bundle = await shBundle('follow', `echo first; ${WAIT_FOR_GO}; echo second >&2; exit 3`)
    expect((await cli(['containers', 'start', 'follow', bundle])).code).toBe(0)
    const child = spawnCli(['containers', 'logs', '-f', 'follow'], {address: f.address, namespace: f.namespace, env: env()})
    const out = new LineReader(child.stdout!)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await out.waitFor(/^first$/)
    await new Promise((r) => setTimeout(r, 300))
    expect(child.exitCode).toBeNull() // still following
    await release(bundle)
    expect(await exited).toBe(3)
    expect(out.lines).toEqual(['first', 'second'])
  })

  it('logs -f of a task killed by SIGKILL exits 137; of an exited task, at once with its status', async () => {
    const bundle = await shBundle('killed', 'echo up; exec sleep 100000')
    expect((await cli(['containers', 'start', 'killed', bundle])).code).toBe(0)
    const child = spawnCli(['containers', 'logs', '--follow', 'killed'], {address: f.address, namespace: f.namespace, env: env()})
    const out = new LineReader(child.stdout!)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await out.waitFor(/^up$/)
    expect((await cli(['containers', 'kill', '-s', 'KILL', 'killed'])).code).toBe(0)
    expect(await exited).toBe(137)
    expect(await cli(['containers', 'logs', '-f', 'killed'])).toMatchObject({code: 137, stdout: 'up\n'})
  })

  it('Ctrl-C ends logs -f with 130 and leaves the container running', async () => {
    const child = spawnCli(['containers', 'logs', '-f', 'tail'], {address: f.address, namespace: f.namespace, env: env()})
    const out = new LineReader(child.stdout!)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    await out.waitFor(/^line5$/)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toBe('')
    expect((await f.goTasks()).get('tail')?.status).toBe('RUNNING')
  })

  it('--log-path FILE puts it there; delete removes it, --keep-log keeps it', async () => {
    const bundle = await shBundle('custom', 'echo custom; exec sleep 100000')
    const path = join(dir, 'custom.log')
    expect((await cli(['containers', 'start', '--log-path', path, 'custom', bundle])).code).toBe(0)
    await eventually(async () => (await readFile(path, 'utf8')) === 'custom\n', 'the custom log')
    expect(await cli(['containers', 'logs', 'custom'])).toMatchObject({code: 0, stdout: 'custom\n'})
    expect((await cli(['containers', 'rm', '-f', 'custom'])).code).toBe(0)
    await expect(stat(path)).rejects.toThrow(/ENOENT/)

    expect((await cli(['containers', 'start', 'kept', bundle])).code).toBe(0)
    await eventually(async () => (await readFile(logFile('kept'), 'utf8')) === 'custom\n', 'the kept log')
    expect((await cli(['containers', 'rm', '-f', '--keep-log', 'kept'])).code).toBe(0)
    expect(await readFile(logFile('kept'), 'utf8')).toBe('custom\n')
  })

  it('--no-log and attached starts keep no log: logs says so in one line', async () => {
    const bundle = await shBundle('nolog', 'echo x; exec sleep 100000')
    expect((await cli(['containers', 'start', '--no-log', 'nolog', bundle])).code).toBe(0)
    expectOneLineError(
      await cli(['containers', 'logs', 'nolog']),
      /^ctr: container "nolog" has no log ctr knows of \(started attached, without a log, or by another tool\)$/m,
    )
    expect(await readdir(join(logDir, f.namespace))).not.toContain('nolog.log')
    const done = await shBundle('attached', 'echo hi')
    expect(await cli(['containers', 'start', '-a', 'attached', done])).toMatchObject({code: 0, stdout: 'hi\n'})
    expectOneLineError(await cli(['containers', 'logs', 'attached']), /has no log ctr knows of/)
  })

  it('a container made by another tool (Go ctr): no log ctr knows of', async () => {
    await f.run('by-go')
    expectOneLineError(await cli(['containers', 'logs', 'by-go']), /^ctr: container "by-go" has no log ctr knows of/)
  })
})

describe('ctr as root reads and removes only the logs it made', () => {
  it('a label naming another file (set with Go ctr) is neither printed nor removed by logs, delete or prune', async () => {
    const victim = join(dir, 'victim')
    await writeFile(victim, 'precious\n')
    const rootfs = join(await shBundle('labelled', 'exec sleep 100000'), 'rootfs')
    const created = await f.go(['containers', 'create', '--label', `io.ctr.log-path=${victim}`, '--rootfs', rootfs, 'label-a'])
    expect(created.code, created.stderr).toBe(0)
    // label-b ran and exited: prune's to delete
    await mkdir(join(dir, 'go-fifo'), {recursive: true})
    const ran = await f.go([
      'run',
      '-d',
      '--fifo-dir',
      join(dir, 'go-fifo'),
      '--label',
      `io.ctr.log-path=${victim}`,
      '--env',
      'PATH=/bin',
      '--rootfs',
      rootfs,
      'label-b',
      'true',
    ])
    expect(ran.code, ran.stderr).toBe(0)
    await eventually(async () => (await f.goTasks()).get('label-b')?.status === 'STOPPED', 'label-b stopped')
    const logs = await cli(['containers', 'logs', 'label-a'])
    expectOneLineError(logs, /^ctr: container "label-a" has a log label, but ctr has no record of making .*victim for it \(not read or removed\)$/m)
    expect(logs.stdout).toBe('')
    expect((await cli(['containers', 'delete', 'label-a'])).code).toBe(0)
    const pruned = await cli(['containers', 'prune'])
    expect(pruned.code).toBe(0)
    expect(pruned.stdout.split('\n')).toContain('label-b')
    expect(await readFile(victim, 'utf8')).toBe('precious\n')
  })

  it('a label pointed at another file after the start: logs refuses it, delete keeps both files', async () => {
    const bundle = await shBundle('relabel', 'echo mine; exec sleep 100000')
    expect((await cli(['containers', 'start', 'relabel', bundle])).code).toBe(0)
    const victim = join(dir, 'victim2')
    await writeFile(victim, 'precious\n')
    expect((await f.go(['containers', 'label', 'relabel', `io.ctr.log-path=${victim}`])).code).toBe(0)
    expectOneLineError(await cli(['containers', 'logs', 'relabel']), /has a log label, but ctr has no record of making/)
    expect((await cli(['containers', 'delete', '-f', 'relabel'])).code).toBe(0)
    expect(await readFile(victim, 'utf8')).toBe('precious\n')
  })

  it('--log-path through a symlink another user planted is refused, and the target is untouched', async () => {
    const bundle = await shBundle('planted', 'echo evil; exec sleep 100000')
    const theirs = join(dir, 'theirs')
    await mkdir(theirs, {mode: 0o755})
    await chmod(theirs, 0o755)
    const target = join(dir, 'passwd-like')
    await writeFile(target, 'root:x:0:0\n')
    // nobody owns the directory and plants app.log -> target
    await promisify(execFile)('chown', ['nobody', theirs])
    await promisify(execFile)('runuser', ['-u', 'nobody', '--', 'ln', '-s', target, join(theirs, 'app.log')])
    expectOneLineError(
      await cli(['containers', 'start', '--log-path', join(theirs, 'app.log'), 'planted', bundle]),
      new RegExp(`^ctr: log directory ${theirs} is not safe to use: ${theirs} belongs to another user`, 'm'),
    )
    // a symlink in a directory of root's own is not followed either
    const mine = join(dir, 'mine')
    await mkdir(mine, {mode: 0o700})
    await symlink(target, join(mine, 'app.log'))
    expectOneLineError(await cli(['containers', 'start', '--log-path', join(mine, 'app.log'), 'planted', bundle]), /symbolic link: not followed$/m)
    // a directory others can write (the sticky /tmp too), and CTR_LOG_DIR/<namespace> as a symlink
    const open = join(dir, 'open')
    await mkdir(open)
    await chmod(open, 0o1777)
    expectOneLineError(await cli(['containers', 'start', '--log-path', join(open, 'a.log'), 'planted', bundle]), /is writable by other users/)
    const linkedRoot = join(dir, 'linked-root')
    await mkdir(linkedRoot, {mode: 0o700})
    await symlink(theirs, join(linkedRoot, f.namespace))
    expectOneLineError(
      await f.cli(['containers', 'start', 'planted', bundle], {env: {CTR_LOG_DIR: linkedRoot}}),
      new RegExp(`${join(linkedRoot, f.namespace)} is a symbolic link`),
    )
    expect(await readFile(target, 'utf8')).toBe('root:x:0:0\n')
    expect(await goContainers()).not.toContain('planted')
  })

  it('delete never removes a --log-path file that existed before, nor one another container still logs to', async () => {
    const bundle = await shBundle('shared', 'echo $0; exec sleep 100000')
    const existing = join(dir, 'daemon-like.log')
    await writeFile(existing, 'older lines\n')
    expect((await cli(['containers', 'start', '--log-path', existing, 'pre', bundle])).code).toBe(0)
    const shared = join(dir, 'shared.log')
    expect((await cli(['containers', 'start', '--log-path', shared, 'share-1', bundle])).code).toBe(0)
    expect((await cli(['containers', 'start', '--log-path', shared, 'share-2', bundle])).code).toBe(0)
    expect((await cli(['containers', 'delete', '-f', 'pre', 'share-1'])).code).toBe(0)
    expect(await readFile(existing, 'utf8')).toMatch(/^older lines\n/)
    expect((await stat(shared)).isFile()).toBe(true)
    expect((await cli(['containers', 'delete', '-f', 'share-2'])).code).toBe(0)
    // share-1 created it, but share-2 did not: the last user leaves it, as ctr cannot tell it is unused
    expect((await stat(shared)).isFile()).toBe(true)
  })
})

describe('the log writer', () => {
  it('rotates a log ctr created at --log-opt max-size, keeping max-file files; logs prints them in order; delete removes all', async () => {
    const bundle = await shBundle('rotated', 'i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); done; exec sleep 100000')
    expect((await cli(['containers', 'start', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=3', 'rotated', bundle])).code).toBe(0)
    await eventually(async () => (await readFile(logFile('rotated'), 'utf8')).includes('line 999\n'), 'line 999')
    const files = (await readdir(join(logDir, f.namespace))).filter((name) => name.startsWith('rotated.log')).sort()
    expect(files).toEqual(['rotated.log', 'rotated.log.1', 'rotated.log.2'])
    for (const name of files) expect((await stat(join(logDir, f.namespace, name))).size).toBeLessThanOrEqual(2048)
    const lines = (await cli(['containers', 'logs', 'rotated'])).stdout.split('\n').filter(Boolean)
    expect(lines.at(-1)).toBe('line 999')
    const first = Number(lines[0].split(' ')[1])
    expect(lines).toEqual(Array.from({length: 1000 - first}, (_, i) => `line ${first + i}`))
    expect((await cli(['containers', 'delete', '-f', 'rotated'])).code).toBe(0)
    expect((await readdir(join(logDir, f.namespace))).filter((name) => name.startsWith('rotated.'))).toEqual([])
  })

  it('logs -f follows the log across rotations, every line once and in order', async () => {
    const bundle = await shBundle(
      'follow-rotated',
      `echo first; ${WAIT_FOR_GO}; i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); sleep 0.005; done; exit 4`,
    )
    expect((await cli(['containers', 'start', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', 'follow-rotated', bundle])).code).toBe(0)
    const child = spawnCli(['containers', 'logs', '-f', 'follow-rotated'], {address: f.address, namespace: f.namespace, env: env()})
    const out = new LineReader(child.stdout!)
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await out.waitFor(/^first$/)
    await release(bundle)
    expect(await exited).toBe(4)
    expect(out.lines).toEqual(['first', ...Array.from({length: 300}, (_, i) => `line ${i}`)])
  })

  it('a full disk: the container keeps running, what could not be written is counted, logs says so and exits non-zero', async () => {
    const full = join(dir, 'full')
    await mkdir(full, {mode: 0o700})
    await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', full])
    try {
      const bundle = await shBundle(
        'disk-full',
        'i=0; while [ $i -lt 3000 ]; do echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo finished > /tmp/finished; exec sleep 100000',
      )
      expect((await cli(['containers', 'start', '--log-path', join(full, 'app.log'), 'disk-full', bundle])).code).toBe(0)
      // the shim's own file:// stdio stops copying at the first failed write, and the process blocks on its pipe
      await eventually(async () => (await readFile(join(bundle, 'rootfs', 'tmp', 'finished'), 'utf8').catch(() => '')) === 'finished\n', 'the process ran on')
      const logs = await cli(['containers', 'logs', 'disk-full'])
      expect(logs.code).toBe(125)
      expect(logs.stdout.startsWith('line 0 ')).toBe(true)
      expect(logs.stderr).toMatch(
        /^ctr: the log of container "disk-full" is incomplete: \d+ bytes of output were lost between .* \(ENOSPC: no space left on device, write\)\n$/,
      )
      expect((await cli(['containers', 'delete', '-f', 'disk-full'])).code).toBe(0)
    } finally {
      await promisify(execFile)('umount', [full])
    }
  })
})

describe('--tail of a big log: read from the end, in bounded memory', () => {
  const LINES = 1_000_000
  const line = (i: number) => `${String(i).padStart(7, '0')} ${'x'.repeat(51)}\n` // 60 bytes
  const LINE_BYTES = line(0).length

  /** `ctr ARGS > out` under /usr/bin/time: exit code, stderr, and the peak RSS in MiB. */
  const measured = async (args: string[], out: string, timeoutMs = 20_000) => {
    const rssFile = `${out}.rss`
    const output = await open(out, 'w')
    try {
      // A process group of its own, so that a timeout kills ctr too, not only time.
      const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, CLI, ...args], {
        env: cliEnv({address: f.address, namespace: f.namespace, env: {...env(), TMPDIR: f.cliTmp}}),
        stdio: ['ignore', output.fd, 'pipe'],
        detached: true,
      })
      let stderr = ''
      child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d))
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs)
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      clearTimeout(timer)
      expect(code, `ctr ${args.join(' ')} (killed after ${timeoutMs} ms?) ${stderr}`).toBe(0)
      expect(stderr).toBe('')
      return {peakMiB: Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop()) / 1024}
    } finally {
      await output.close()
    }
  }
  const sha256 = (path: string, start = 0) =>
    new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256')
      createReadStream(path, {start})
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolve(hash.digest('hex')))
        .on('error', reject)
    })

  it(`${LINES.toLocaleString('en')} lines (60 MB): --tail 10, half, all and 0; peak RSS < 100 MiB`, async () => {
    const bundle = await shBundle('big', 'exec sleep 100000')
    expect((await cli(['containers', 'start', 'big', bundle])).code).toBe(0)
    // What the container would have written, appended to its log (the shim holds it open for appending).
    for (let i = 1; i <= LINES; i += 50_000) {
      await appendFile(logFile('big'), Array.from({length: 50_000}, (_, j) => line(i + j)).join(''))
    }
    expect((await stat(logFile('big'))).size).toBe(LINES * LINE_BYTES)
    const out = join(dir, 'big.out')

    const last10 = await measured(['containers', 'logs', '--tail', '10', 'big'], out)
    expect(await readFile(out, 'utf8')).toBe(Array.from({length: 10}, (_, j) => line(LINES - 9 + j)).join(''))
    for (const n of [LINES / 2, LINES, LINES + 1]) {
      const {peakMiB} = await measured(['containers', 'logs', '--tail', String(n), 'big'], out)
      const skipped = Math.max(0, LINES - n) * LINE_BYTES
      expect((await stat(out)).size).toBe(LINES * LINE_BYTES - skipped)
      expect(await sha256(out)).toBe(await sha256(logFile('big'), skipped))
      expect(peakMiB, `--tail ${n}`).toBeLessThan(100)
    }
    expect(last10.peakMiB).toBeLessThan(100)
    await measured(['containers', 'logs', '--tail', '0', 'big'], out)
    expect((await stat(out)).size).toBe(0)
    await rm(out)
    expect((await cli(['containers', 'rm', '-f', 'big'])).code).toBe(0)
  }, 180_000)

  it('one 50 MB line with --tail 1 streams from where the line begins; peak RSS < 100 MiB', async () => {
    const bundle = await shBundle('long-line', 'echo before; exec sleep 100000')
    expect((await cli(['containers', 'start', 'long-line', bundle])).code).toBe(0)
    await eventually(async () => (await readFile(logFile('long-line'), 'utf8')) === 'before\n', 'the first line')
    const MB = 1024 * 1024
    for (let i = 0; i < 50; i++) await appendFile(logFile('long-line'), 'y'.repeat(MB))
    const out = join(dir, 'long-line.out')
    const {peakMiB} = await measured(['containers', 'logs', '--tail', '1', 'long-line'], out)
    expect((await stat(out)).size).toBe(50 * MB)
    expect(await sha256(out)).toBe(await sha256(logFile('long-line'), 'before\n'.length))
    expect(peakMiB).toBeLessThan(100)
    await rm(out)
    expect((await cli(['containers', 'rm', '-f', 'long-line'])).code).toBe(0)
  }, 120_000)
})

describe('bad input: one line, non-zero, nothing created', () => {
  const nothingCreated = async (id: string) => {
    expect(await goContainers()).not.toContain(id)
    expect(await readdir(join(logDir, f.namespace)).catch(() => [])).not.toContain(`${id}.log`)
  }

  it('an unknown ID', async () => {
    expectOneLineError(await cli(['containers', 'logs', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"$/m)
    expectOneLineError(await cli(['containers', 'logs', '-f', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"$/m)
  })

  it('a log path in a directory that does not exist', async () => {
    const bundle = await shBundle('bad-dir', 'exec sleep 100000')
    expectOneLineError(
      await cli(['containers', 'start', '--log-path', join(dir, 'no', 'such', 'x.log'), 'bad-dir', bundle]),
      /^ctr: log directory .*\/no\/such does not exist$/m,
    )
    await nothingCreated('bad-dir')
    await expect(stat(join(dir, 'no'))).rejects.toThrow(/ENOENT/)
  })

  it('a log path in a directory the user cannot write (run as nobody)', async () => {
    const bundle = await shBundle('unwritable', 'exec sleep 100000')
    const locked = join(dir, 'locked')
    await mkdir(locked, {mode: 0o755})
    const result = await promisify(execFile)(
      'runuser',
      ['-u', 'nobody', '--', process.execPath, CLI, 'containers', 'start', '--log-path', join(locked, 'x.log'), 'unwritable', bundle],
      {
        env: {...process.env, CONTAINERD_ADDRESS: f.address, CONTAINERD_NAMESPACE: f.namespace},
      },
    ).then(
      () => ({code: 0, stdout: '', stderr: ''}),
      (error: {code: number; stdout: string; stderr: string}) => ({code: error.code, stdout: error.stdout, stderr: error.stderr}),
    )
    expectOneLineError(result, new RegExp(`^ctr: log directory ${locked} is not writable$`, 'm'))
    expect(await readdir(locked)).toEqual([])
    await nothingCreated('unwritable')
  })

  it('--tty without --attach is refused (the shim cannot write a terminal to a file)', async () => {
    const bundle = await shBundle('tty', 'exec sleep 100000')
    expectOneLineError(await cli(['containers', 'start', '--tty', 'tty', bundle]), /^ctr: --tty needs --attach .*log file cannot hold one\)$/m)
    await nothingCreated('tty')
  })

  it('--log-path or --no-log with --attach, --log-path with --no-log', async () => {
    const bundle = await shBundle('attach-log', 'true')
    expectOneLineError(
      await cli(['containers', 'start', '-a', '--log-path', join(dir, 'a.log'), 'attach-log', bundle]),
      /^ctr: --log-path, --log-opt and --no-log are for detached starts/,
    )
    expectOneLineError(await cli(['containers', 'start', '--no-log', '--log-path', join(dir, 'a.log'), 'attach-log', bundle]), /--no-log|--log-path/)
    await nothingCreated('attach-log')
  })

  it('--since and --until are refused: the file has no timestamps', async () => {
    expectOneLineError(await cli(['containers', 'logs', '--since', '10m', 'tail']), /^ctr: --since is not supported: the log file has no timestamps/)
    expectOneLineError(await cli(['containers', 'logs', '--until', '2026-01-01', 'tail']), /^ctr: --until is not supported/)
  })

  it('a start that fails after the log was prepared removes the file it created', async () => {
    const bundle = await makeBundle(join(dir, 'missing-cmd'), ['/no/such/command'])
    const result = await cli(['containers', 'start', 'missing-cmd', bundle])
    expect(result.code).toBe(127)
    await nothingCreated('missing-cmd')
  })
})

describe('a log outlives a daemon restart', () => {
  let daemon: PrivateDaemon
  const namespace = uniqueName('it-logs-restart')
  afterAll(async () => {
    await daemon?.stop()
  })

  it('what the container writes while containerd is down and after it is back is in the log', async () => {
    daemon = await startPrivateContainerd()
    const run = (args: string[]) => runCli(args, {address: daemon.address, namespace, env: env()})
    const bundle = await shBundle('restart', `echo before; ${WAIT_FOR_GO}; echo after; exit 5`)
    expect((await run(['containers', 'start', 'survivor', bundle])).code).toBe(0)
    await eventually(async () => (await run(['containers', 'logs', 'survivor'])).stdout === 'before\n', 'before')
    // A follower and a waiter started before the crash see it through (their Tasks.Wait is made again).
    const follower = spawnCli(['containers', 'logs', '-f', 'survivor'], {address: daemon.address, namespace, env: env()})
    const followed = new LineReader(follower.stdout!)
    const followerExit = new Promise<number | null>((resolve) => follower.on('close', resolve))
    const waiter = spawnCli(['containers', 'wait', 'survivor'], {address: daemon.address, namespace, env: env()})
    const waited = new LineReader(waiter.stdout!)
    const waiterExit = new Promise<number | null>((resolve) => waiter.on('close', resolve))
    await followed.waitFor(/^before$/)
    await new Promise((r) => setTimeout(r, 300))
    daemon.kill('SIGKILL')
    await release(bundle)
    const path = join(logDir, namespace, 'survivor.log')
    await eventually(async () => (await readFile(path, 'utf8')) === 'before\nafter\n', 'the shim writing with the daemon down')
    await daemon.restart()
    expect(await followerExit).toBe(5)
    expect(followed.lines).toEqual(['before', 'after'])
    expect(await waiterExit).toBe(5)
    expect(waited.lines).toEqual(['5'])
    expect(await run(['containers', 'logs', 'survivor'])).toMatchObject({code: 0, stdout: 'before\nafter\n'})
    expect(await run(['containers', 'logs', '-f', 'survivor'])).toMatchObject({code: 5, stdout: 'before\nafter\n'})
    expect((await run(['containers', 'rm', 'survivor'])).code).toBe(0)
    await expect(stat(path)).rejects.toThrow(/ENOENT/)
    await goCtr(daemon, ['namespaces', 'rm', namespace])
  })
})
