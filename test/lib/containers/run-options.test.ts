import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {OciSpec} from '../../../src/lib/containers/bundle'
import {RootDir} from '../../../src/lib/containers/in-root'
import {
  applyRunSettings,
  parseCapability,
  parseCpus,
  parseMemory,
  parseMount,
  parseRunSettings,
  parseTmpfs,
  parseVolume,
  readEnvFile,
} from '../../../src/lib/containers/run-options'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-run-options-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('parsing', () => {
  it("--mount: Go ctr's keys and their synonyms; bind gets rbind unless it names bind", async () => {
    expect(await parseMount(`type=bind,src=${dir},dst=/data,options=rbind:ro`)).toEqual({
      type: 'bind',
      source: dir,
      destination: '/data',
      options: ['rbind', 'ro'],
    })
    expect(await parseMount(`type=bind,source=${dir},target=/d/`)).toEqual({type: 'bind', source: dir, destination: '/d', options: ['rbind']})
    expect(await parseMount(`type=bind,source=${dir},destination=/d,options=bind`)).toMatchObject({options: ['bind']})
    expect(await parseMount('type=tmpfs,dst=/t,options=size=1m')).toEqual({type: 'tmpfs', source: 'tmpfs', destination: '/t', options: ['size=1m']})
    await expect(parseMount('type=bind,src=/nonexistent/x,dst=/d')).rejects.toThrow(
      'invalid mount "type=bind,src=/nonexistent/x,dst=/d": host path /nonexistent/x does not exist',
    )
    await expect(parseMount('type=bind,dst=/d')).rejects.toThrow(/no src=/)
    await expect(parseMount(`type=bind,src=${dir},dst=rel`)).rejects.toThrow(/must be absolute/)
  })

  it('-v: HOST:PATH[:ro|:rw]; a name is a named volume', async () => {
    expect(await parseVolume(`${dir}:/data`)).toEqual({type: 'bind', source: dir, destination: '/data', options: ['rbind', 'rw']})
    expect(await parseVolume(`${dir}:/data:ro`)).toMatchObject({options: ['rbind', 'ro']})
    await expect(parseVolume(`${dir}:/data:rx`)).rejects.toThrow(/unknown mode "rx"/)
    expect(await parseVolume('cache:/data/')).toEqual({volume: 'cache', destination: '/data', readOnly: false, copy: true})
    expect(await parseVolume('my_vol.1-x:/d:ro,nocopy')).toEqual({volume: 'my_vol.1-x', destination: '/d', readOnly: true, copy: false})
    await expect(parseVolume(`${dir}:/data:nocopy`)).rejects.toThrow(/unknown mode "nocopy"/)
    for (const name of ['a/b', '_x', '-x', 'a b', 'ü'])
      await expect(parseVolume(`${name}:/data`)).rejects.toThrow(`"${name}" is neither a host path (/x, ./x) nor a volume name`)
    await expect(parseRunSettings({volume: ['v:/d', 'w:/d']})).rejects.toThrow(/two mounts at \/d/)
    await expect(parseVolume(dir)).rejects.toThrow(/HOST:PATH/)
  })

  it('--tmpfs PATH[:OPTIONS], sizes, CPUs, capabilities', () => {
    expect(parseTmpfs('/run:size=64m')).toEqual({type: 'tmpfs', source: 'tmpfs', destination: '/run', options: ['nosuid', 'nodev', 'noexec', 'size=64m']})
    expect(parseMemory('64m')).toBe(64 * 1024 * 1024)
    expect(parseMemory('1g')).toBe(1024 ** 3)
    expect(() => parseMemory('5m')).toThrow('invalid memory "5m": the minimum is 6m')
    expect(parseCpus('1.5')).toBe(1.5)
    expect(parseCpus('.5')).toBe(0.5)
    for (const bad of ['0', '-1', 'x', '0.001', '1e3']) expect(() => parseCpus(bad)).toThrow(/invalid cpus/)
    expect(parseCapability('capAdd', 'net_admin')).toBe('CAP_NET_ADMIN')
    expect(parseCapability('capDrop', 'CAP_CHOWN')).toBe('CAP_CHOWN')
    expect(parseCapability('capAdd', 'all')).toBe('ALL')
    expect(() => parseCapability('capAdd', 'FLY')).toThrow('invalid capAdd "FLY": not a Linux capability (e.g. NET_ADMIN, SYS_TIME)')
  })

  it('two mounts at one path, and --memory with --memory-limit, are refused', async () => {
    await expect(parseRunSettings({volume: [`${dir}:/d`], tmpfs: ['/d']})).rejects.toThrow(/two mounts at \/d/)
    await expect(parseRunSettings({memory: '64m', memoryLimit: '67108864'})).rejects.toThrow(/not both/)
    expect(await parseRunSettings({memoryLimit: '67108864'})).toEqual({memory: 67108864})
  })

  it("--env-file: docker's format (comments, blanks, KEY alone from ctr's environment, values as written)", async () => {
    const file = join(dir, 'env')
    await writeFile(file, '# c\n\n  A=1\nB="quoted"\nFROM_HOST\nUNSET_HERE\nC=x=y\r\n')
    expect(await readEnvFile(file, {FROM_HOST: 'h'})).toEqual(['A=1', 'B="quoted"', 'FROM_HOST=h', 'C=x=y'])
    await writeFile(file, 'BAD KEY=1\n')
    await expect(readEnvFile(file)).rejects.toThrow(/line 1: variable "BAD KEY" has white space/)
    await expect(readEnvFile(join(dir, 'missing'))).rejects.toThrow(/cannot read envFile .*missing: no such file/)
  })
})

describe('applyRunSettings', () => {
  /** Settings without user names never open the root. */
  const noRoot = () => Promise.reject(new Error('the root was opened'))
  const base = (): OciSpec => ({
    process: {
      args: ['sh'],
      cwd: '/',
      capabilities: {bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN']},
    },
    root: {path: 'rootfs'},
    mounts: [
      {destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: []},
      {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'ro']},
    ],
    linux: {maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'], resources: {devices: [{allow: false, access: 'rwm'}]}},
  })

  it('a mount at an existing destination replaces it; limits, cwd, hostname, read-only land where runc reads them', async () => {
    const spec = base()
    await applyRunSettings(
      spec,
      {
        mounts: [{destination: '/tmp', type: 'bind', source: dir, options: ['rbind']}],
        memory: 1 << 26,
        cpus: 0.5,
        cpuShares: 512,
        pidsLimit: 9,
        cwd: '/w',
        hostname: 'h',
        readOnly: true,
      },
      noRoot,
      'x',
    )
    expect(spec.mounts).toEqual([base().mounts![1 as never], {destination: '/tmp', type: 'bind', source: dir, options: ['rbind']}])
    expect(spec.linux!.resources).toEqual({
      devices: [{allow: false, access: 'rwm'}],
      memory: {limit: 1 << 26},
      cpu: {quota: 50000, period: 100000, shares: 512},
      pids: {limit: 9},
    })
    expect([spec.process.cwd, spec.hostname, spec.root.readonly]).toEqual(['/w', 'h', true])
  })

  it('-u by name from the root, a number alone gets group 0', async () => {
    const root = join(dir, 'root')
    await import('node:fs/promises').then((fs) => fs.mkdir(join(root, 'etc'), {recursive: true}))
    await writeFile(join(root, 'etc', 'passwd'), 'app:x:1234:1235::/:/bin/sh\n')
    const spec = base()
    const opened = await RootDir.open(root, 'the bundle')
    const files = async () => opened
    await applyRunSettings(spec, {user: {user: 'app'}}, files, 'the bundle')
    expect(spec.process.user).toMatchObject({uid: 1234, gid: 1235})
    await applyRunSettings(spec, {user: {user: '7'}}, files, 'the bundle')
    expect(spec.process.user).toMatchObject({uid: 7, gid: 0})
    await expect(applyRunSettings(base(), {user: {user: 'nobody'}}, files, 'the bundle')).rejects.toThrow('no user "nobody" in the bundle (its /etc/passwd)')
    await opened.close()
  })

  it('capabilities: drop then add; privileged opens masked paths, seccomp, devices and /sys', async () => {
    const spec = base()
    await applyRunSettings(spec, {capDrop: ['CAP_CHOWN'], capAdd: ['CAP_SYS_TIME']}, noRoot, 'x')
    expect(spec.process.capabilities).toMatchObject({bounding: ['CAP_KILL', 'CAP_SYS_TIME'], effective: ['CAP_KILL', 'CAP_SYS_TIME']})
    const privileged = base()
    await applyRunSettings(privileged, {privileged: true}, noRoot, 'x')
    const caps = privileged.process.capabilities as {bounding: string[]}
    expect(caps.bounding.length).toBeGreaterThan(2)
    expect(privileged.linux).not.toHaveProperty('maskedPaths')
    expect(privileged.linux).not.toHaveProperty('readonlyPaths')
    expect((privileged.linux!.resources as {devices: unknown}).devices).toEqual([{allow: true, access: 'rwm'}])
    expect((privileged.mounts as Array<{destination: string; options: string[]}>).find((m) => m.destination === '/sys')!.options).toEqual(['nosuid'])
  })
})
