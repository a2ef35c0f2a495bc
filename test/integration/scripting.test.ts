/**
 * Issue 13: ctr as scripts and Go-ctr/docker habits use it, each reproduction run with the built CLI against
 * the real private containerd: the program's own flags, -h, containerd's filter language, --timeout as the
 * command's deadline, empty globals, events piped, created containers, global-flag errors, one-line wording.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {exited, LineReader} from '../helpers/line-reader'
import {CLI} from '../helpers/run-cli'
import {eventually, expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
const {bundle} = inject('containerd')

beforeAll(async () => {
  f = await setupFixture('scripting')
  await f.run('w2')
})

afterAll(async () => {
  await f?.cleanup()
})

const exec = (args: string[]) => f.cli(['containers', 'exec', '--id', 'w2', '-a', ...args])

describe("flags after the command's program belong to the program", () => {
  it('exec: echo -n, ls -a, ls -t (no TTY), sh -c, and -- still works', async () => {
    expect(await exec(['echo', '-n', 'hi'])).toMatchObject({code: 0, stdout: 'hi', stderr: ''})
    expect((await exec(['ls', '-a', '/'])).stdout.split('\n').slice(0, 2)).toEqual(['.', '..'])
    const t = await exec(['ls', '-t', '/'])
    expect(t.code, t.stderr).toBe(0)
    expect(t.stdout).not.toContain('\r') // no terminal was allocated
    expect(await exec(['sh', '-c', 'echo x'])).toMatchObject({code: 0, stdout: 'x\n'})
    expect(await exec(['--', 'sh', '-c', 'echo $0 -h', 'y'])).toMatchObject({code: 0, stdout: 'y -h\n'})
    expect(await exec(['sh', '-c', 'exit 7'])).toMatchObject({code: 7})
    expect(await f.leftovers()).toEqual([])
  })

  it('start ID BUNDLE CMD...: the command replaces process.args, its flags its own', async () => {
    const result = await f.cli(['containers', 'start', '-a', '--rm', 's-cmd', bundle, 'sh', '-c', 'echo from $0', 'cmd'])
    expect(result).toMatchObject({code: 0, stdout: 'from cmd\n', stderr: ''})
    expect((await f.cli(['containers', '-q'])).stdout).not.toContain('s-cmd')
    // piped stdin is the container's, with or without a command (oclif never reads it for an optional arg)
    expect(await f.cli(['containers', 'start', '-a', '--rm', 's-cat', bundle, 'cat'], {input: 'in\n'})).toMatchObject({code: 0, stdout: 'in\n'})
  })
})

describe("exec: docker's -u, -i and -t habits", () => {
  it("-u NAME and -u UID:GID resolve in the container's /etc/passwd and /etc/group", async () => {
    expect((await exec(['-u', 'nobody', 'id'])).stdout).toBe('uid=65534(nobody) gid=65534(nogroup)\n')
    expect((await exec(['-u', '1000:1000', 'id'])).stdout).toBe('uid=1000(user) gid=1000(user)\n')
    expect((await exec(['-u', 'user:root', 'id', '-u'])).stdout).toBe('1000\n')
    expectOneLineError(await exec(['-u', 'nosuchuser', 'id']), /no user "nosuchuser" in container "w2"/)
    expectOneLineError(await exec(['-u', 'a:b:c', 'id']), /invalid --user "a:b:c"/)
  })

  it("-t with stdin that is not a terminal is refused in docker's words; -i attaches; -it is -i -t", async () => {
    expectOneLineError(await exec(['-t', 'sh']), /the input device is not a TTY/)
    expectOneLineError(await f.cli(['containers', 'exec', '--id', 'w2', '-it', 'sh']), /the input device is not a TTY/)
    expectOneLineError(await f.cli(['containers', 'start', '-a', '-t', 's-tty', bundle]), /the input device is not a TTY/)
    expect(await f.cli(['containers', 'exec', '--id', 'w2', '-i', 'cat'], {input: 'in\n'})).toMatchObject({code: 0, stdout: 'in\n'})
    expect(await f.leftovers()).toEqual([])
  })
})

describe('kill: the stop signal label and --exec-id', () => {
  it("without --signal, kill sends the image's stop signal (io.containerd.image.config.stop-signal)", async () => {
    await f.run('k-stop', ['sh', '-c', 'trap "exit 42" USR1; trap "exit 15" TERM; while true; do sleep 0.1; done'])
    expect((await f.go(['containers', 'label', 'k-stop', 'io.containerd.image.config.stop-signal=SIGUSR1'])).code).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 300)) // the traps are set
    const result = await f.cli(['containers', 'kill', '--json', 'k-stop'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)[0]).toMatchObject({id: 'k-stop', signal: 10})
    await eventually(async () => (await f.goTasks()).get('k-stop')?.status === 'STOPPED', 'k-stop to stop')
    expect((await f.go(['tasks', 'delete', 'k-stop'])).stderr).toMatch(/exit code 42/)
  })

  it('--exec-id signals that exec process only', async () => {
    expect((await f.cli(['containers', 'exec', '--id', 'w2', '--exec-id', 'victim', 'sleep', '1000'])).code).toBe(0)
    const result = await f.cli(['containers', 'kill', '-s', 'KILL', '--exec-id', 'victim', '--json', 'w2'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)[0]).toMatchObject({id: 'w2', execId: 'victim', signal: 9})
    await eventually(async () => {
      const ps = JSON.parse((await f.cli(['containers', 'ps', '--json', 'w2'])).stdout) as Array<{execId: string; status?: string}>
      return ps.every((p) => p.execId !== 'victim')
    }, 'victim to die')
    expect((await f.goTasks()).get('w2')?.status).toBe('RUNNING')
    expectOneLineError(await f.cli(['containers', 'kill', '--exec-id', 'x', '--all', 'w2']), /--exec-id cannot be used with --pid or --all/)
  })
})

describe('-h is help everywhere', () => {
  it.each([[['-h']], [['containers', '-h']], [['containers', 'kill', '-h']], [['-n', 'x', '-h']]])('ctr %j', async (args) => {
    const result = await f.cli(args)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/USAGE/)
    expect(result.stderr).toBe('')
  })
})

describe("containers --filter: containerd's language beside docker's key=value", () => {
  const ids = async (...filters: string[]) => {
    const result = await f.cli(['containers', '-q', ...filters.flatMap((x) => ['-f', x])])
    expect(result.code, result.stderr).toBe(0)
    return result.stdout.split('\n').filter(Boolean)
  }

  beforeAll(async () => {
    expect((await f.cli(['containers', 'start', 'redis', bundle])).code).toBe(0)
    await f.run('red-done', ['true'])
    await eventually(async () => (await f.goTasks()).get('red-done')?.status === 'STOPPED', 'red-done to exit')
  })

  it('evaluated by the daemon, status by ctr, combined', async () => {
    expect(await ids('id==w2')).toEqual(['w2'])
    expect(await ids('id~=^red')).toEqual(['red-done', 'redis'])
    expect(await ids('status==running')).toEqual(['redis', 'w2'])
    expect(await ids('status=stopped,id=red-done')).toEqual(['red-done'])
    expect(await ids('status=stopped,id=redis')).toEqual([])
    expect(await ids('labels."io.ctr.bundle"')).toEqual(['redis'])
    expect(await ids('label==io.ctr.bundle')).toEqual(['redis'])
    expect(await ids(`labels."io.ctr.bundle"==${bundle}`)).toEqual(['redis'])
    expect(await ids('runtime.name==io.containerd.runc.v2,id~=^red,status!=running')).toEqual(['red-done'])
    expect(await ids('id==w2', 'id==redis')).toEqual(['redis', 'w2']) // several: OR, as containerd
    expect(await ids('image==docker.io/library/nothing:1')).toEqual([])
    // docker-style keeps working, and ANDs with containerd-style ones
    expect(await ids('status=running', 'id~=^re')).toEqual(['redis'])
  })

  it.each(['colour==red', 'id=="w2', 'id~=(', 'status==sleepy', 'label=', '==x'])('%j is an error, not an empty list', async (filter) => {
    expectOneLineError(await f.cli(['containers', '-f', filter]), /invalid --filter/)
  })
})

describe('--timeout is the whole command deadline; --call-timeout and --connect-timeout', () => {
  it('events end after --timeout with a clear line and exit 124', async () => {
    const t0 = Date.now()
    const result = await f.cli(['--timeout', '1s', 'events'])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(result).toMatchObject({code: 124, stdout: '', stderr: 'ctr: --timeout 1s reached\n'})
  })

  it('an attached exec ends at it too, its process removed', async () => {
    const result = await f.cli(['--timeout', '1500ms', 'containers', 'exec', '--id', 'w2', '-a', '--exec-id', 'slow', 'sleep', '100'])
    expect(result).toMatchObject({code: 124, stderr: 'ctr: --timeout 1500ms reached\n'})
    const ps = JSON.parse((await f.cli(['containers', 'ps', '--json', 'w2'])).stdout) as Array<{execId: string}>
    expect(ps.map((p) => p.execId)).not.toContain('slow')
    expect(await f.leftovers()).toEqual([])
  })

  it("Go's duration syntax; under 1 ms refused; --call-timeout and --connect-timeout accepted", async () => {
    expect((await f.cli(['--timeout', '1m30s', 'containers', '-q'])).code).toBe(0)
    expect((await f.cli(['--call-timeout', '2s', '--connect-timeout', '2s', 'containers', '-q'])).code).toBe(0)
    expect((await f.cli(['containers', '-q', '--call-timeout=1m', '--connect-timeout', '500ms'])).code).toBe(0)
    expectOneLineError(await f.cli(['--timeout', '500us', 'version']), /invalid --timeout "500us": under 1ms/)
    expectOneLineError(await f.cli(['--call-timeout', '1x', 'version']), /invalid --call-timeout "1x"/)
  })
})

describe('explicitly empty address or namespace is an error', () => {
  it.each([
    [['-a', '', 'containers'], {}, /address is required/],
    [['containers'], {CONTAINERD_ADDRESS: ''}, /address is required/],
    [['-n', '', 'containers'], {}, /namespace is required/],
    [['containers'], {CONTAINERD_NAMESPACE: ''}, /namespace is required/],
  ])('%j %j', async (args, env, message) => {
    // Not through cliEnv, which drops empty variables.
    const result = await new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {env: {...process.env, CONTAINERD_ADDRESS: f.address, CONTAINERD_NAMESPACE: f.namespace, ...env}},
        (error, stdout, stderr) => resolve({code: error ? (error.code as number) : 0, stdout, stderr}),
      )
    })
    expectOneLineError(result, message)
    expect(result.stdout).toBe('')
  })
})

describe('exec processes after they exit', () => {
  type Proc = {pid: number; execId: string; status: string; exitStatus?: number; exitedAt?: string}
  const psAll = async (id: string) => JSON.parse((await f.cli(['containers', 'ps', '--all', '--json', id])).stdout) as Proc[]

  it('a detached exec is removed from containerd once it exits; ps --all shows its exit; its ID works again', async () => {
    await f.run('x1')
    const detached = await f.cli(['containers', 'exec', '--id', 'x1', '--exec-id', 'job', 'sh', '-c', 'sleep 0.3; exit 3'])
    expect(detached).toMatchObject({code: 0, stdout: 'job\n'})
    await eventually(async () => (await psAll('x1')).some((p) => p.execId === 'job' && p.status === 'stopped'), 'the exit of "job" in ps --all')
    const job = (await psAll('x1')).find((p) => p.execId === 'job')!
    expect(job).toMatchObject({status: 'stopped', exitStatus: 3})
    expect(Date.parse(job.exitedAt!)).toBeGreaterThan(Date.now() - 60_000)
    expect((await psAll('x1')).filter((p) => p.status === 'running').map((p) => p.execId)).toEqual(['x1'])
    const table = (await f.cli(['containers', 'ps', '-a', 'x1'])).stdout.split('\n')
    expect(table[0]).toMatch(/^PID\s+EXEC ID\s+STATUS\s+EXIT\s+EXITED AT$/)
    expect(table.find((line) => /\sjob\s/.test(line))).toMatch(/^\d+\s+job\s+stopped\s+3\s+\d{4}-\S+Z$/)
    // Deleted from containerd: Go's ctr, which never reuses an ID, can take it
    expect((await f.go(['tasks', 'exec', '--exec-id', 'job', 'x1', 'true'])).code).toBe(0)
    // and ours again and again, detached and attached (each detached one once it has exited: a running one
    // holds its ID)
    for (let i = 0; i < 2; i++) {
      const again = await f.cli(['containers', 'exec', '--id', 'x1', '--exec-id', 'again', 'sh', '-c', `exit ${i}`])
      expect(again.code, again.stderr).toBe(0)
      await eventually(async () => (await psAll('x1')).some((p) => p.execId === 'again' && p.exitStatus === i), `exit ${i} of "again"`)
    }
    expect(await f.cli(['containers', 'exec', '--id', 'x1', '-a', '--exec-id', 'again', 'echo', 'ok'])).toMatchObject({code: 0, stdout: 'ok\n'})
    // used again, the old record is gone (an attached exec leaves none: its status was ctr's exit code)
    expect((await psAll('x1')).map((p) => p.execId)).not.toContain('again')
  })

  it("an exited exec nobody deleted (Go's ctr -d) is reused or deleted with --exec-id; a running one needs --force", async () => {
    await f.run('x2')
    for (const name of ['g1', 'g2']) expect((await f.go(['tasks', 'exec', '-d', '--exec-id', name, 'x2', 'true'])).code).toBe(0)
    expect((await f.go(['tasks', 'exec', '-d', '--exec-id', 'long', 'x2', 'sleep', '1000'])).code).toBe(0)
    await eventually(async () => (await f.go(['tasks', 'ps', 'x2'])).stdout.split('\n').length <= 4, 'g1 and g2 to exit')
    const x2 = (args: string[]) => f.cli(['containers', 'exec', '--id', 'x2', '-a', ...args])
    expect(await x2(['--exec-id', 'g1', 'echo', 'reused'])).toMatchObject({code: 0, stdout: 'reused\n'})
    expect(await f.cli(['containers', 'delete', '--exec-id', 'g2', 'x2'])).toMatchObject({code: 0, stdout: 'g2\n', stderr: ''})
    expectOneLineError(await f.cli(['containers', 'delete', '--exec-id', 'g2', 'x2']), /container "x2" has no exec process "g2"/)
    expectOneLineError(await x2(['--exec-id', 'long', 'true']), /container "x2" already has a running exec process "long"/)
    expectOneLineError(
      await f.cli(['containers', 'delete', '--exec-id', 'long', 'x2']),
      /container "x2": exec process "long" is running: stop it first \(kill it\) or use --force/,
    )
    expect(await f.cli(['containers', 'delete', '--force', '--exec-id', 'long', 'x2'])).toMatchObject({code: 0, stdout: 'long\n'})
    expectOneLineError(await f.cli(['containers', 'delete', '--exec-id', 'long', 'x2', 'w2']), /--exec-id takes exactly one container ID, got 2/)
    expectOneLineError(await f.cli(['containers', 'delete', '--keep-log', '--exec-id', 'long', 'x2']), /--keep-log cannot be used with --exec-id/)
    expectOneLineError(await f.cli(['containers', 'delete', '--exec-id', 'a b', 'x2']), /invalid --exec-id "a b"/)
    expectOneLineError(await f.cli(['containers', 'ps', '-qa', 'x2']), /--all cannot be used with --quiet/)
    // an exec that exited in a container paused since: exited, so deleted without --force
    expect((await f.go(['tasks', 'exec', '-d', '--exec-id', 'p1', 'x2', 'true'])).code).toBe(0)
    await eventually(async () => !(await f.go(['tasks', 'ps', 'x2'])).stdout.includes('p1'), 'p1 to exit')
    expect((await f.cli(['containers', 'pause', 'x2'])).code).toBe(0)
    expect(await f.cli(['containers', 'delete', '--exec-id', 'p1', 'x2'])).toMatchObject({code: 0, stdout: 'p1\n'})
    expect((await f.cli(['containers', 'resume', 'x2'])).code).toBe(0)
    // the container itself is untouched
    expect((await f.cli(['containers', 'ps', '-q', 'x2'])).stdout.trim().split('\n')).toHaveLength(1)
  })

  it('delete --force of a running detached exec removes it and its mark, and leaves no record behind', async () => {
    await f.run('x4')
    expect((await f.cli(['containers', 'exec', '--id', 'x4', '--exec-id', 'bg', 'sleep', '1000'])).code).toBe(0)
    expect(await f.cli(['containers', 'delete', '--force', '--exec-id', 'bg', 'x4'])).toMatchObject({code: 0, stdout: 'bg\n', stderr: ''})
    expect((await psAll('x4')).map((p) => p.execId)).toEqual(['x4'])
    const info = JSON.parse((await f.cli(['containers', 'info', '--json', 'x4'])).stdout) as {labels: Record<string, string>}
    expect(Object.keys(info.labels).filter((key) => key.startsWith('io.ctr.exec'))).toEqual([])
    expect(await f.cli(['containers', 'delete', '--json', '--exec-id', 'bg', 'x4'])).toMatchObject({code: 125})
  })

  it('when the container is killed, a running detached exec is recorded as killed', async () => {
    await f.run('x3')
    expect((await f.cli(['containers', 'exec', '--id', 'x3', '--exec-id', 'bg', 'sleep', '1000'])).code).toBe(0)
    expect((await f.cli(['containers', 'kill', '--signal', 'KILL', 'x3'])).code).toBe(0)
    await eventually(async () => (await psAll('x3')).some((p) => p.execId === 'bg'), 'the exit of "bg"')
    expect((await psAll('x3')).map((p) => [p.execId, p.status, p.exitStatus])).toEqual([
      ['x3', 'stopped', 137],
      ['bg', 'stopped', 137],
    ])
    expect(await f.cli(['containers', 'delete', '--exec-id', 'bg', 'x3'])).toMatchObject({code: 0, stdout: 'bg\n'})
    expect((await psAll('x3')).map((p) => p.execId)).toEqual(['x3'])
  })
})

describe('events for scripts', () => {
  it("piped: no header, the first line is an event; Go's positional filter; timestamps", async () => {
    const child = f.spawn(['events', '-T', 'topic=="/tasks/exit"'])
    const out = new LineReader(child.stdout!)
    await new Promise((resolve) => setTimeout(resolve, 1000)) // no confirmation of a subscription exists
    expect((await f.cli(['containers', 'start', '-a', '--rm', 'ev-one', bundle, 'true'])).code).toBe(0)
    await out.waitFor(/ev-one/)
    child.kill('SIGINT')
    await exited(child)
    expect(out.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+exit\s+ev-one\s+\d+\s+0$/)
  })

  it('a closed stdout pipe ends a quiet stream at once with 141 (no event, or a quiet logs -f), no watcher left', async () => {
    expect((await f.cli(['containers', 'start', 'quiet-log', bundle])).code).toBe(0) // detached: output to its log file
    // A shell pipeline whose reader leaves after 1 s: ctr must follow without anything to write.
    const pipeline = (args: string) =>
      new Promise<{statuses: string; ms: number}>((resolve) => {
        const t0 = Date.now()
        const script = `node ${CLI} ${args} | (sleep 1; exit 0); echo "\${PIPESTATUS[@]}"`
        execFile('bash', ['-c', script], {env: {...process.env, CONTAINERD_ADDRESS: f.address, CONTAINERD_NAMESPACE: f.namespace}}, (_e, stdout) =>
          resolve({statuses: stdout.trim(), ms: Date.now() - t0}),
        )
      })
    for (const args of ['events', 'containers logs -f quiet-log']) {
      const {statuses, ms} = await pipeline(args)
      expect(statuses, args).toBe('141 0')
      expect(ms, args).toBeLessThan(2500)
    }
    // tail, the watcher, went with ctr: none is left watching a ctr that is gone (other tests' may be live)
    const ps = await new Promise<string>((resolve) => execFile('ps', ['-eo', 'args='], (_e, out) => resolve(out)))
    const watched = ps.split('\n').flatMap((line) => /^\S*tail -s 0\.25 -f --pid=(\d+)/.exec(line)?.[1] ?? [])
    const alive = (pid: string) => {
      try {
        return process.kill(Number(pid), 0)
      } catch {
        return false
      }
    }
    expect(watched.filter((pid) => !alive(pid))).toEqual([])
  })

  it('the watcher is the system tail by absolute path: a tail planted first in PATH is never run', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'ctr-planted-tail-'))
    const marker = join(bin, 'ran')
    try {
      await writeFile(join(bin, 'tail'), `#!/bin/sh\ntouch ${marker}\nexec /usr/bin/tail "$@"\n`, {mode: 0o755})
      const env = {...process.env, PATH: `${bin}:${process.env.PATH}`, CONTAINERD_ADDRESS: f.address, CONTAINERD_NAMESPACE: f.namespace}
      const t0 = Date.now()
      const statuses = await new Promise<string>((resolve) =>
        execFile('bash', ['-c', `node ${CLI} events | (sleep 1; exit 0); echo "\${PIPESTATUS[@]}"`], {env}, (_e, stdout) => resolve(stdout.trim())),
      )
      expect(statuses).toBe('141 0') // the system's tail watched
      expect(Date.now() - t0).toBeLessThan(2500)
      expect(existsSync(marker)).toBe(false)
    } finally {
      await rm(bin, {recursive: true, force: true})
    }
  })

  it('--header prints it when piped; --exit-on an unknown container is an error', async () => {
    const result = await f.cli(['--timeout', '500ms', 'events', '--header'])
    expect(result.stdout).toMatch(/^TYPE\s+ID\s+PID\s+STATUS\n$/)
    expectOneLineError(await f.cli(['events', '--exit-on', 'nosuch']), new RegExp(`container "nosuch" not found in namespace "${f.namespace}"`))
  })
})

describe('created is not stopped', () => {
  it("Go's ctr c create lists as created; an exited ctr start -a as stopped with its exit status", async () => {
    const made = await f.go(['containers', 'create', '--runtime', 'io.containerd.runc.v2', '--rootfs', `${bundle}/rootfs`, 'never', 'true'])
    expect(made.code, made.stderr).toBe(0)
    expect((await f.cli(['containers', 'start', '-a', 'ran-3', bundle, 'sh', '-c', 'exit 3'])).code).toBe(3)
    const list = JSON.parse((await f.cli(['containers', '--json'])).stdout) as Array<{
      id: string
      status: string
      exitStatus?: number
      bundle: string
      image: string
    }>
    const byId = Object.fromEntries(list.map((c) => [c.id, c]))
    expect(byId.never).toMatchObject({status: 'created', bundle: '', image: ''})
    expect(byId['ran-3']).toMatchObject({status: 'stopped', exitStatus: 3, bundle, image: ''})
    expect((await f.cli(['containers', '-q', '-f', 'status=stopped'])).stdout).not.toContain('never')
    // the clean-up one-liner the help shows, with nothing to delete
    const help = (await f.cli(['containers', '--help'])).stdout
    expect(help).toContain('xargs -r')
    // prune (with a containerd-style filter) deletes the stopped one, keeps the created one
    expect(await f.cli(['containers', 'prune', '-f', 'id~=^(never|ran-3)$'])).toMatchObject({code: 0, stdout: 'ran-3\n'})
    expect((await f.cli(['containers', '-q', '-f', 'id==never'])).stdout).toBe('never\n')
  })
})

describe('usage errors name the right thing, in one lower-case line', () => {
  it.each([
    [['-a', 'S', '--connect-timeout', '2s', 'containers'], /cannot connect to containerd at \S*\/S: no such file/],
    [['-n', 'k8s.io', '--bogus', 'containers'], /^ctr: unknown global flag --bogus/],
    [['-n'], /^ctr: -n needs a value/],
    [['--namspace', 'x', 'containers'], /did you mean --namespace\?/],
    [['containers', '--filtre', 'x'], /^ctr: unknown flag --filtre; did you mean --filter\?/],
    [['containers', 'kill'], /^ctr: missing argument ID/],
    [['bench', '--count', 'x', bundle], /^ctr: invalid --count: expected an integer/],
    [['containers', 'kill', 'nosuch'], /^ctr: container "nosuch" not found in namespace/],
    [['containers', 'delete', 'nosuch'], /^ctr: container "nosuch" not found in namespace/],
    [['containers', 'stats', '--no-stream', 'nosuch'], /^ctr: container "nosuch" not found in namespace/],
  ])('ctr %j', async (args, message) => {
    const result = await f.cli(args)
    expectOneLineError(result, message)
  })

  it('ctr -n x alone prints the help', async () => {
    const result = await f.cli(['-n', 'x'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/USAGE/)
  })

  it('killing an exited container says the process already finished', async () => {
    await f.run('k-done', ['true'])
    await eventually(async () => (await f.goTasks()).get('k-done')?.status === 'STOPPED', 'k-done to exit')
    expectOneLineError(await f.cli(['containers', 'kill', 'k-done']), /^ctr: container "k-done": process already finished\n$/)
  })
})

describe('root help', () => {
  it('lists each command once and shows the global flags', async () => {
    const {stdout, code} = await f.cli(['--help'])
    expect(code).toBe(0)
    expect(stdout.match(/^ {2}containers {2,}/gm)).toHaveLength(1)
    expect(stdout.match(/^ {2}checkpoints {2,}/gm)).toHaveLength(1)
    expect(stdout).not.toContain('TOPICS')
    for (const flag of ['--address', '--namespace', '--timeout', '--call-timeout', '--connect-timeout', '--help']) expect(stdout).toContain(flag)
  })
})

describe('JSON and version', () => {
  it('exec --json with --attach is refused: the output would mix into the JSON', async () => {
    expectOneLineError(await exec(['--json', 'echo', 'x']), /--json cannot be used with --attach/)
  })

  it('ps --json names the init by the container ID, as the table does', async () => {
    const ps = JSON.parse((await f.cli(['containers', 'ps', '--json', 'w2'])).stdout) as Array<{execId: string; init: boolean}>
    expect(ps.find((p) => p.init)!.execId).toBe('w2')
  })

  it('version with the daemon down prints the Client section, then the error', async () => {
    const result = await f.cli(['version'], {address: '/nonexistent/containerd.sock'})
    expect(result.code).toBe(125)
    expect(result.stdout).toMatch(/^Client:\n {2}Version: +\S+\n {2}Node: +v\d+/)
    expect(result.stderr).toBe('ctr: cannot connect to containerd at /nonexistent/containerd.sock: no such file\n')
  })
})
