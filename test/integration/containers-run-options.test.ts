/**
 * Options of `containers start` (issue 24) against the real private containerd, read back from inside the
 * container: bind mounts (-v, --mount) and --tmpfs, memory/CPU/pids limits in the cgroup (v1 or v2 paths),
 * -u by name from the bundle's /etc/passwd, -w, --hostname, --read-only, --env-file; the spec compared with
 * Go `ctr run`'s for the flags Go has; bad values one line, 125, nothing created; config.json never changed.
 */
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let f: Fixture
let dir: string
let bundle: string
let host: string
let hostRw: string

/** cgroup v2 file, else v1's, as the container sees its own cgroup. */
const cg = (v2: string, v1: string) => `(cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1})`

beforeAll(async () => {
  f = await setupFixture('runopts')
  dir = await mkdtemp(join(tmpdir(), 'ctr-it-runopts-'))
  await chmod(dir, 0o755)
  bundle = await makeBundle(join(dir, 'bundle'))
  host = join(dir, 'host')
  hostRw = join(dir, 'host-rw')
  await mkdir(host)
  await mkdir(hostRw)
  await chmod(hostRw, 0o777)
  await writeFile(join(host, 'hello.txt'), 'from-host\n')
})

afterAll(async () => {
  await f?.cleanup()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const attached = (id: string, flags: string[], script: string) => f.cli(['containers', 'start', '-a', '--rm', ...flags, id, bundle, 'sh', '-c', script])

describe('containers start options, read back inside the container', () => {
  it('-v (ro), --mount (rw), --tmpfs, -u NAME, -w, --hostname', async () => {
    const config = await readFile(join(bundle, 'config.json'), 'utf8')
    const script = [
      'cat /data/hello.txt',
      'touch /data/x 2>/dev/null && echo data-writable || echo data-ro',
      'echo written > /out/file && echo out-ok',
      "grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
      'id -u; id -g; pwd; hostname',
    ].join('; ')
    const result = await attached(
      'o-mounts',
      [
        '-v',
        `${host}:/data:ro`,
        '--mount',
        `type=bind,src=${hostRw},dst=/out,options=rbind:rw`,
        '--tmpfs',
        '/scratch',
        '-u',
        'user',
        '-w',
        '/home/user',
        '--hostname',
        'svc1',
      ],
      script,
    )
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('from-host\ndata-ro\nout-ok\ntmpfs\n1000\n1000\n/home/user\nsvc1\n')
    expect(result.code).toBe(0)
    expect(await readFile(join(hostRw, 'file'), 'utf8')).toBe('written\n')
    // The bundle's config.json on disk is untouched.
    expect(await readFile(join(bundle, 'config.json'), 'utf8')).toBe(config)
  })

  it('-m, --cpus, --pids-limit, --cpu-shares land in the cgroup (v1 or v2)', async () => {
    const script = [
      cg('memory.max', 'memory/memory.limit_in_bytes'),
      cg('cpu.max', 'cpu/cpu.cfs_quota_us'),
      cg('pids.max', 'pids/pids.max'),
      cg('cpu.weight', 'cpu/cpu.shares'),
    ].join('; ')
    const result = await attached('o-limits', ['-m', '64m', '--cpus', '0.5', '--pids-limit', '50', '--cpu-shares', '512'], script)
    expect(result.code, result.stderr).toBe(0)
    const [memory, cpu, pids, shares] = result.stdout.trim().split('\n')
    expect(memory).toBe(String(64 * 1024 * 1024))
    // v2: "50000 100000"; v1: the quota alone.
    expect(cpu.split(' ')[0]).toBe('50000')
    expect(pids).toBe('50')
    // v2 converts shares to a weight (512 → 20 by runc's formula); v1 keeps them.
    expect(['512', '20']).toContain(shares)
  })

  it('--read-only: a write to the root is refused', async () => {
    const result = await attached('o-ro', ['--read-only'], 'touch /rootfile 2>/dev/null && echo writable || echo refused')
    expect(result).toMatchObject({code: 0, stdout: 'refused\n'})
    const rw = await attached('o-rw', [], 'touch /rootfile 2>/dev/null && echo writable || echo refused; rm -f /rootfile')
    expect(rw.stdout).toBe('writable\n')
  })

  it('--env-file (docker format) then -e, which wins', async () => {
    const file = join(dir, 'env')
    await writeFile(file, '# comment\n\nA=1\nB=two words\nC=from-file\n')
    const result = await attached('o-env', ['--env-file', file, '-e', 'C=from-flag'], 'echo "$A|$B|$C"')
    expect(result).toMatchObject({code: 0, stdout: '1|two words|from-flag\n'})
  })

  it('--privileged and --cap-add/--cap-drop change the capability sets', async () => {
    const capEff = "grep CapEff /proc/self/status | tr -d '\\t' | cut -d: -f2"
    const plain = await attached('o-cap0', [], capEff)
    const changed = await attached('o-cap1', ['--cap-drop', 'KILL', '--cap-add', 'sys_time', '--cap-add', 'CAP_CHOWN'], capEff)
    const privileged = await attached('o-cap2', ['--privileged'], capEff)
    const bits = (r: {stdout: string; stderr: string}) => {
      expect(r.stderr).toBe('')
      return BigInt(`0x${r.stdout.trim()}`)
    }
    const [CHOWN, KILL, SYS_TIME] = [1n << 0n, 1n << 5n, 1n << 25n]
    // runc spec's bundle: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE only.
    expect(bits(plain) & (CHOWN | KILL | SYS_TIME)).toBe(KILL)
    expect(bits(changed) & (CHOWN | KILL | SYS_TIME)).toBe(CHOWN | SYS_TIME)
    expect(bits(privileged) & (1n << 21n)).toBe(1n << 21n) // CAP_SYS_ADMIN
  })
})

describe('the spec containerd holds, compared with Go ctr run', () => {
  it('--mount, --memory-limit, --cpus, --cpu-shares, --cwd, --label, --read-only, --cap-add/--cap-drop', async () => {
    const common = [
      '--mount',
      `type=bind,src=${host},dst=/data,options=rbind:ro`,
      '--memory-limit',
      String(128 * 1024 * 1024),
      '--cpus',
      '1.5',
      '--cpu-shares',
      '256',
      '--cwd',
      '/tmp',
      '--label',
      'tier=web',
      '--read-only',
      '--cap-add',
      'CAP_SYS_TIME',
      '--cap-drop',
      'CAP_CHOWN',
    ]
    const go = await f.go(['run', '-d', '--env', 'PATH=/bin', ...common, '--rootfs', join(bundle, 'rootfs'), 'go-spec', 'sleep', '1000'])
    expect(go.code, go.stderr).toBe(0)
    const ours = await f.cli(['containers', 'start', '--no-log', ...common, 'our-spec', bundle, 'sleep', '1000'])
    expect(ours.code, ours.stderr).toBe(0)
    type Info = {Labels: Record<string, string>; Spec: {mounts: Array<{destination: string; source: string; options: string[]}>; [k: string]: any}}
    const info = async (id: string) => JSON.parse((await f.go(['containers', 'info', id])).stdout) as Info
    const [g, o] = [await info('go-spec'), await info('our-spec')]
    const pick = (i: Info) => ({
      mount: i.Spec.mounts.find((m) => m.destination === '/data'),
      memory: i.Spec.linux.resources.memory.limit,
      cpu: {quota: i.Spec.linux.resources.cpu.quota, period: i.Spec.linux.resources.cpu.period, shares: i.Spec.linux.resources.cpu.shares},
      cwd: i.Spec.process.cwd,
      label: i.Labels.tier,
      readonly: i.Spec.root.readonly,
      sysTime: i.Spec.process.capabilities.bounding.includes('CAP_SYS_TIME'),
      chown: i.Spec.process.capabilities.bounding.includes('CAP_CHOWN'),
    })
    expect(pick(o)).toEqual(pick(g))
    expect(pick(o)).toMatchObject({memory: 128 * 1024 * 1024, cpu: {quota: 150000, period: 100000, shares: 256}, cwd: '/tmp', label: 'web', readonly: true})
    expect((await f.cli(['containers', 'delete', '--force', 'go-spec', 'our-spec'])).code).toBe(0)
  })
})

describe('bad values: one line naming it, 125, nothing created', () => {
  it('--env-file of a missing file: Node itself refuses it before ctr runs (nodejs/node#54232), exit 9, nothing created', async () => {
    const result = await f.cli(['containers', 'start', '--env-file', '/nonexistent/env', 'o-bad', bundle, 'true'])
    expect(result.code).toBe(9)
    expect(result.stderr).toMatch(/\/nonexistent\/env: not found/)
    expect((await f.go(['containers', 'ls', '-q'])).stdout.split('\n')).not.toContain('o-bad')
  })

  it.each([
    ['-m', ['-m', '12q'], /invalid --memory "12q"/],
    ['-m too small', ['-m', '1k'], /invalid --memory "1k": the minimum is 6m/],
    ['--memory-limit', ['--memory-limit', '64m'], /invalid --memory-limit "64m"/],
    ['--cpus', ['--cpus', 'two'], /invalid --cpus "two"/],
    ['--pids-limit', ['--pids-limit', '-1'], /invalid --pids-limit "-1"/],
    ['--cpu-shares', ['--cpu-shares', 'x'], /invalid --cpu-shares "x"/],
    [
      '-v missing host path',
      ['-v', '/nonexistent/ctr-it:/data'],
      /invalid --volume "\/nonexistent\/ctr-it:\/data": host path \/nonexistent\/ctr-it does not exist/,
    ],
    ['-v bad volume name', ['-v', 'ca/che:/data'], /invalid --volume "ca\/che:\/data": "ca\/che" is neither a host path/],
    ['-v relative target', ['-v', '/tmp:data'], /must be absolute/],
    ['--mount no type', ['--mount', 'src=/tmp,dst=/x'], /invalid --mount "src=\/tmp,dst=\/x": no type=/],
    ['--mount unknown key', ['--mount', 'type=bind,src=/tmp,dst=/x,color=red'], /unknown key "color"/],
    ['--cap-add', ['--cap-add', 'FLY'], /invalid --cap-add "FLY": not a Linux capability/],
    ['--hostname', ['--hostname', 'bad_name!'], /invalid --hostname "bad_name!"/],
    ['-w relative', ['-w', 'work'], /invalid --cwd "work"/],
    ['-u syntax', ['-u', 'a:b:c'], /invalid --user "a:b:c"/],
    ['-u unknown name', ['-u', 'nobody-here'], /no user "nobody-here" in the bundle/],
    ['--label', ['--label', 'novalue'], /invalid --label "novalue"/],
  ])('%s', async (_name, flags, message) => {
    const result = await f.cli(['containers', 'start', ...flags, 'o-bad', bundle, 'true'])
    expectOneLineError(result, message)
    expect((await f.go(['containers', 'ls', '-q'])).stdout.split('\n')).not.toContain('o-bad')
    expect(await f.leftovers()).toEqual([])
  })
})

describe('containers update', () => {
  const limits = [cg('memory.max', 'memory/memory.limit_in_bytes'), cg('cpu.max', 'cpu/cpu.cfs_quota_us'), cg('pids.max', 'pids/pids.max')].join('; ')
  const readLimits = async (id: string) => {
    const result = await f.cli(['containers', 'exec', '-a', '--id', id, '--', 'sh', '-c', limits])
    expect(result.code, result.stderr).toBe(0)
    const [memory, cpu, pids] = result.stdout.trim().split('\n')
    return {memory, cpu: cpu.split(' ')[0], pids}
  }

  it('changes the cgroup of a running container and its spec, so a restart keeps them', async () => {
    const started = await f.cli(['containers', 'start', '--no-log', '-m', '64m', '--pids-limit', '50', 'u-live', bundle, 'sleep', '100000'])
    expect(started.code, started.stderr).toBe(0)
    const before = await readLimits('u-live')
    expect(before).toMatchObject({memory: String(64 << 20), pids: '50'})
    expect(['-1', 'max']).toContain(before.cpu) // no quota: v1 -1, v2 "max 100000"
    const updated = await f.cli(['containers', 'update', '-m', '128m', '--cpus', '0.25', '--pids-limit', '20', 'u-live'])
    expect(updated).toMatchObject({code: 0, stdout: 'u-live\n', stderr: ''})
    expect(await readLimits('u-live')).toEqual({memory: String(128 << 20), cpu: '25000', pids: '20'})
    const spec = JSON.parse((await f.go(['containers', 'info', 'u-live'])).stdout).Spec
    expect(spec.linux.resources).toMatchObject({memory: {limit: 128 << 20}, cpu: {quota: 25000, period: 100000}, pids: {limit: 20}})
    const restarted = await f.cli(['containers', 'restart', '-t', '0', 'u-live'])
    expect(restarted.code, restarted.stderr).toBe(0)
    expect(await readLimits('u-live')).toEqual({memory: String(128 << 20), cpu: '25000', pids: '20'})
    expect((await f.cli(['containers', 'delete', '--force', 'u-live'])).code).toBe(0)
  })

  it('a stopped container: only its spec, used by the next start; unknown IDs and bad values one line, 125', async () => {
    const started = await f.cli(['containers', 'start', '--no-log', 'u-stopped', bundle, 'sleep', '100000'])
    expect(started.code, started.stderr).toBe(0)
    expect((await f.cli(['containers', 'stop', '-t', '0', 'u-stopped'])).code).toBe(0)
    const updated = await f.cli(['containers', 'update', '--json', '--pids-limit', '33', 'u-stopped', 'u-nope'])
    expectOneLineError(updated, /container "u-nope" not found/)
    expect(JSON.parse(updated.stdout)).toEqual([{id: 'u-stopped', live: false, resources: {pids: {limit: 33}}}])
    expect((await f.cli(['containers', 'start', 'u-stopped'])).code).toBe(0)
    expect((await readLimits('u-stopped')).pids).toBe('33')
    expectOneLineError(await f.cli(['containers', 'update', '--cpus', '0', 'u-stopped']), /invalid --cpus "0"/)
    expectOneLineError(await f.cli(['containers', 'update', 'u-stopped']), /nothing to update/)
    expect((await f.cli(['containers', 'delete', '--force', 'u-stopped'])).code).toBe(0)
  })
})
