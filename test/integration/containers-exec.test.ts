/**
 * `ctr containers exec` against the real private containerd: overrides reach the process, exit codes pass
 * through, stdio is wired both ways, signals are forwarded, detached execs show up in `ps`, and failures are
 * one line with nothing left behind (no exec process, no FIFO directory).
 */
import {spawn} from 'node:child_process'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {exited, LineReader} from '../helpers/line-reader'
import {runInPty} from '../helpers/pty'
import {CLI, cliEnv} from '../helpers/run-cli'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture('exec')
  await f.run('ex-a')
})

afterAll(async () => {
  await f?.cleanup()
})

const exec = (args: string[], input?: string) => f.cli(['containers', 'exec', ...args], {input})

/** Host PIDs of the exec processes of a container, by exec ID (our ps, cross-checked with Go's below). */
async function execPids(id: string): Promise<Map<string, number>> {
  const result = await f.cli(['containers', 'ps', '--json', id])
  expect(result.code, result.stderr).toBe(0)
  return new Map((JSON.parse(result.stdout) as Array<{pid: number; execId: string}>).filter((p) => p.execId).map((p) => [p.execId, p.pid]))
}

describe('ctr containers exec --attach', () => {
  it('applies --cwd, --env, --uid and --gid', async () => {
    const result = await exec([
      '-a',
      '--id',
      'ex-a',
      '--cwd',
      '/tmp',
      '-e',
      'FOO=bar',
      '--uid',
      '1000',
      '--gid',
      '1000',
      '--',
      'sh',
      '-c',
      'echo $FOO $(pwd) $(id -u) $(id -g)',
    ])
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('bar /tmp 1000 1000\n')
    expect(result.code).toBe(0)
    expect(await f.leftovers()).toEqual([])
  })

  it('keeps the container environment (PATH) and lets -e override it; short flags -u -g', async () => {
    const result = await exec([
      '-a',
      '--id',
      'ex-a',
      '-e',
      'PATH=/bin:/sbin',
      '-e',
      'A=1',
      '-e',
      'B=x=y',
      '-u',
      '7',
      '-g',
      '8',
      '--',
      'sh',
      '-c',
      'echo $PATH $A $B $(id -u):$(id -g)',
    ])
    expect(result.stdout).toBe('/bin:/sbin 1 x=y 7:8\n')
    expect(result.code).toBe(0)
  })

  it('exits with the process exit code and keeps stdout and stderr apart', async () => {
    expect((await exec(['-a', '--id', 'ex-a', '--', 'sh', '-c', 'exit 5'])).code).toBe(5)
    const result = await exec(['-a', '--id', 'ex-a', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'])
    expect(result).toMatchObject({code: 3, stdout: 'out\n', stderr: 'err\n'})
  })

  it('exits 128+N when the process is killed by signal N', async () => {
    expect((await exec(['-a', '--id', 'ex-a', '--', 'sh', '-c', 'kill -9 $$'])).code).toBe(137)
  })

  it('passes arguments through verbatim and in order (repeats, values equal to flag values)', async () => {
    const result = await exec(['-a', '--id', 'ex-a', '--cwd', '/tmp', '--', 'sh', '-c', 'echo "$0|$1|$2|$3|$4"', 'a', 'a', 'b', '/tmp', '-e'])
    expect(result.stdout).toBe('a|a|b|/tmp|-e\n')
  })

  it('pipes stdin to the process and gives it EOF', async () => {
    const result = await exec(['-a', '--id', 'ex-a', '--', 'cat'], 'one\ntwo\n')
    expect(result).toMatchObject({code: 0, stdout: 'one\ntwo\n', stderr: ''})
    const big = 'x'.repeat(199_999) + '\n'
    const wc = await exec(['-a', '--id', 'ex-a', '--', 'wc', '-c'], big)
    expect(wc.stdout.trim()).toBe('200000')
  })

  it('forwards SIGINT to the process, which decides how to exit', async () => {
    const child = f.spawn([
      'containers',
      'exec',
      '-a',
      '--id',
      'ex-a',
      '--',
      'sh',
      '-c',
      'trap "echo got-int; exit 7" INT; echo ready; while true; do sleep 0.1; done',
    ])
    const out = new LineReader(child.stdout!)
    await out.waitFor(/^ready$/)
    child.kill('SIGINT')
    expect((await exited(child)).code).toBe(7)
    await out.waitFor(/^got-int$/)
  })

  it('removes the exec process once it exits', async () => {
    await exec(['-a', '--id', 'ex-a', '--exec-id', 'gone-after', '--', 'true'])
    // The name is free again: a second exec with it works.
    expect((await exec(['-a', '--id', 'ex-a', '--exec-id', 'gone-after', '--', 'true'])).code).toBe(0)
  })
})

/**
 * Runs a shell snippet under a real pseudo-terminal (util-linux `script`); `$CTR` is the built CLI. Resolves
 * with everything the terminal showed. `input` is typed into the terminal after `typeAfterMs`.
 */
function underPty(snippet: string, input = '', typeAfterMs = 1500): Promise<string> {
  const env = {...cliEnv({address: f.address, namespace: f.namespace, env: {TMPDIR: f.cliTmp}}), CTR: `${process.execPath} ${CLI}`}
  const child = spawn('script', ['-qec', snippet, '/dev/null'], {env, stdio: ['pipe', 'pipe', 'pipe']})
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  // script ends the session when its stdin ends: keep it open until the snippet is done.
  const typing = setTimeout(() => child.stdin.write(input), typeAfterMs)
  return exited(child, 20_000).then(() => {
    clearTimeout(typing)
    return output.replaceAll('\r', '')
  })
}

describe('ctr containers exec --tty', () => {
  it('runs an interactive shell: typed input reaches it, its exit code comes back, the terminal is restored', async () => {
    const shown = await underPty(
      'stty cols 100 rows 30; before=$(stty -g); $CTR containers exec -a -t --id ex-a -- sh; echo "rc=$?"; [ "$before" = "$(stty -g)" ] && echo mode-restored',
      'stty size; echo tty-$((6*7)); exit 6\r',
    )
    expect(shown).toMatch(/^30 100$/m)
    expect(shown).toMatch(/^tty-42$/m)
    expect(shown).toMatch(/^rc=6$/m)
    expect(shown).toMatch(/^mode-restored$/m)
    expect(await f.leftovers()).toEqual([])
  })

  it('follows window size changes', async () => {
    // Resized once ctr is attached (typed input reaches the process only after ctr follows SIGWINCH), twice in
    // a row as `stty cols 120 rows 40` does; the process polls until it sees the final size (10 s at most).
    const script = 'stty size; read line; echo attached; i=0; while [ "$(stty size)" != "40 120" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size'
    const result = await runInPty([process.execPath, CLI, 'containers', 'exec', '-a', '-t', '--id', 'ex-a', '--', 'sh', '-c', script], {
      env: cliEnv({address: f.address, namespace: f.namespace, env: {TMPDIR: f.cliTmp}}),
      size: [30, 100],
      steps: [
        {wait: '30 100', write: 'go\r'},
        {wait: 'attached', resize: [30, 120]},
        {wait: '', resize: [40, 120]},
      ],
    })
    expect(result.pendingSteps, result.output).toBe(0)
    expect(result.output).toMatch(/^30 100\r+\ngo\r+\nattached\r+\n40 120\r+\n$/)
    expect(result.code).toBe(0)
    expect(result.modeRestored).toBe(true)
  })
})

describe('ctr containers exec (detached)', () => {
  it('prints a generated exec ID; the process runs and shows in ps', async () => {
    const result = await exec(['--id', 'ex-a', '--', 'sleep', '1000'])
    expect(result.code, result.stderr).toBe(0)
    const execId = result.stdout.trim()
    expect(execId).toMatch(/^exec-[0-9a-f]{12}$/)
    const pids = await execPids('ex-a')
    expect(pids.get(execId)).toBeGreaterThan(0)
    const ps = await f.cli(['containers', 'ps', 'ex-a'])
    expect(ps.stdout).toMatch(new RegExp(`^${pids.get(execId)}\\s+${execId}\\s+running$`, 'm'))
    // Go's ctr sees the same process.
    const goPs = await f.go(['tasks', 'ps', 'ex-a'])
    expect(goPs.stdout).toMatch(new RegExp(`^${pids.get(execId)}\\s+.*ExecID:${execId}\\b`, 'm'))
  })

  it('uses --exec-id and refuses a second process of the same name', async () => {
    const first = await exec(['--id', 'ex-a', '--exec-id', 'named', '--', 'sleep', '1000'])
    expect(first).toMatchObject({code: 0, stdout: 'named\n'})
    const second = await exec(['--id', 'ex-a', '--exec-id', 'named', '--', 'sleep', '1000'])
    expectOneLineError(second, /already has a running exec process "named"/)
    expect(await f.leftovers()).toEqual([])
  })

  it('--json returns the exec ID and PID', async () => {
    const result = await exec(['--json', '--id', 'ex-a', '--', 'sleep', '1000'])
    expect(result.code, result.stderr).toBe(0)
    const parsed = JSON.parse(result.stdout)
    expect(parsed).toMatchObject({id: 'ex-a', execId: expect.stringMatching(/^exec-/), pid: expect.any(Number)})
    expect((await execPids('ex-a')).get(parsed.execId)).toBe(parsed.pid)
  })
})

describe('ctr containers exec failures', () => {
  it('a command that does not exist exits 127, one that is not executable 126, nothing left', async () => {
    expectOneLineError(
      await exec(['-a', '--id', 'ex-a', '--exec-id', 'nf', '--', 'no-such-cmd']),
      /cannot exec "no-such-cmd" in container "ex-a": executable file not found/,
      127,
    )
    expectOneLineError(
      await exec(['-a', '--id', 'ex-a', '--exec-id', 'np', '--', '/etc/passwd']),
      /cannot exec "\/etc\/passwd" in container "ex-a": permission denied/,
      126,
    )
    // Detached too: the failed process is deleted, so its name can be used again.
    expectOneLineError(await exec(['--id', 'ex-a', '--exec-id', 'nf', '--', 'no-such-cmd']), /executable file not found/, 127)
    expect((await exec(['-a', '--id', 'ex-a', '--exec-id', 'nf', '--', 'true'])).code).toBe(0)
    expect(await f.leftovers()).toEqual([])
  })

  it('a --cwd that does not exist is named as the cause (125), not the command; nothing left', async () => {
    // runc's "chdir to cwd ... no such file or directory" once came out as `"sh": executable file not found`, 127.
    const result = await exec(['-a', '--id', 'ex-a', '--exec-id', 'nocwd', '--cwd', '/nope', '--', 'sh', '-c', 'echo hi'])
    expectOneLineError(result, /^ctr: cannot exec "sh" in container "ex-a": working directory "\/nope" does not exist in the container$/m, 125)
    expect(result.stdout).not.toContain('hi')
    expect((await execPids('ex-a')).has('nocwd')).toBe(false)
    expect(await f.leftovers()).toEqual([])
  })

  it('a missing container or a stopped one is a one-line error (125), nothing left', async () => {
    expectOneLineError(await exec(['-a', '--id', 'no-such', '--', 'true']), /container "no-such" not found/)
    await f.run('ex-stopped', ['true'])
    await eventually(async () => (await f.goTasks()).get('ex-stopped')?.status === 'STOPPED', 'ex-stopped to stop')
    expectOneLineError(await exec(['-a', '--id', 'ex-stopped', '--', 'true']), /^ctr: container "ex-stopped" is not running$/m)
    await f.go(['tasks', 'delete', 'ex-stopped'])
    expectOneLineError(await exec(['-a', '--id', 'ex-stopped', '--', 'true']), /^ctr: container "ex-stopped" is not running$/m)
    expect(await f.leftovers()).toEqual([])
  })

  it.each([
    [['--id', 'ex-a'], /missing command/],
    [['--id', 'ex-a', '--'], /missing command/],
    [['-a', '--', 'true'], /missing --id/],
    [['--id', 'ex-a', '--exec-id', 'bad id!', '--', 'true'], /invalid --exec-id "bad id!"/],
    [['--id', 'ex-a', '-u', '-1', '--', 'true'], /invalid --user "-1"/],
    [['--id', 'ex-a', '-g', 'root', '--', 'true'], /invalid --gid "root"/],
    [['--id', 'ex-a', '--cwd', 'tmp', '--', 'true'], /invalid --cwd "tmp"/],
    [['--id', 'ex-a', '-t', '--', 'sh'], /--tty needs --attach/],
    [['--id', 'ex-a', '--bogus', '--', 'true'], /--bogus/],
  ])('usage error: %j', async (args, message) => {
    expectOneLineError(await exec(args), message)
  })

  it('a malformed --env is named by position and its text is never echoed (it may be a secret)', async () => {
    const result = await exec(['-a', '--id', 'ex-a', '-e', 'OK=1', '-e', 'hunter2-secret', '--', 'true'])
    expectOneLineError(result, /invalid --env entry #2: expected KEY=VALUE/)
    expect(result.stderr + result.stdout).not.toContain('hunter2')
  })

  it('none of the failures left an exec process behind', async () => {
    const pids = await execPids('ex-a')
    for (const name of ['nf', 'np', 'gone-after']) expect(pids.has(name)).toBe(false)
  })
})
