/**
 * Named volumes (issue 24): `containers start -v NAME:PATH` against the suite's containerd, with ctr's
 * volume directory in a temp dir (CTR_VOLUME_DIR): made on first use and filled from the image's PATH (a
 * three-layer image, so the overlay is mounted: a whiteout hides a lower file, owners and modes and symlinks
 * kept, a symlink on the path resolved inside the image); writes persist across containers; `volumes`
 * (-q, --json, --filter), create, rm (refuses one in use, naming the container), prune, the seed's one-liner;
 * bad names and planted symlinks refused in one line, nothing made, nothing followed, nothing left mounted.
 */
import {lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {expectOneLineError} from './containers-fixture'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const IMAGE = 'example.com/volumes/seeded:1'
let f: ImagesFixture
let ns: string
let root: string

const cli = (args: string[]) => f.cli(ns, args, {env: {CTR_VOLUME_DIR: root}})
const ok = async (args: string[]) => {
  const result = await cli(args)
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
  return result
}
const volumeData = (name: string) => join(root, ns, name, '_data')

beforeAll(async () => {
  f = await setupImagesFixture('volumes')
  ns = f.namespace('v')
  root = join(f.dir, 'volumes')
  const image = await buildImage({
    layers: [
      await busyboxLayer(),
      filesLayer({
        'data/': {dir: true, uid: 1234, gid: 1235, mode: 0o750},
        'data/seed.txt': 'from the image\n',
        'data/old.txt': 'deleted above\n',
        'data/sub/': {dir: true, uid: 7, gid: 8, mode: 0o700},
        'data/link': {link: 'seed.txt'},
      }),
      filesLayer({'data/.wh.old.txt': '', hostetc: {link: '/etc'}, up: {link: '../../../../..'}}),
    ],
    config: {Env: ['PATH=/bin'], Cmd: ['sh']},
  })
  const archive = join(f.dir, 'image.tar')
  await writeOciArchive(archive, [{image, name: IMAGE}])
  const imported = await f.cli(ns, ['images', 'import', archive])
  expect(imported.code, imported.stderr).toBe(0)
})

afterAll(async () => {
  if (ns)
    for (const id of (await f.go(ns, ['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await f.cli(ns, ['containers', 'delete', '--force', id])
  await f?.cleanup()
})

/** Snapshots other than the image's layers (a container's, left behind). */
async function containerSnapshots(): Promise<string[]> {
  const {snapshots, leases} = await f.state(ns)
  return [...snapshots.filter((key) => !key.startsWith('sha256:')), ...leases]
}

/** Nothing of ours mounted anywhere (the fill mounts only in its own mount namespace). */
async function mountedUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.includes(dir))
}

describe('-v NAME:PATH', () => {
  it('a new volume is filled from the image at PATH (merged layers, owners, modes, symlinks); writes persist; no second fill', async () => {
    const first = await ok([
      'containers',
      'start',
      '-a',
      '--rm',
      '-v',
      'seeded:/data',
      'v1',
      IMAGE,
      'sh',
      '-c',
      'ls -a /data; cat /data/link; echo kept > /data/new',
    ])
    expect(first.stderr).toBe('')
    expect(first.stdout).toBe('.\n..\nlink\nseed.txt\nsub\nfrom the image\n')
    const data = volumeData('seeded')
    const top = await stat(data)
    expect([top.uid, top.gid, top.mode & 0o7777]).toEqual([1234, 1235, 0o750])
    const sub = await stat(join(data, 'sub'))
    expect([sub.uid, sub.gid, sub.mode & 0o7777]).toEqual([7, 8, 0o700])
    expect(await readlink(join(data, 'link'))).toBe('seed.txt')
    expect(await readFile(join(data, 'new'), 'utf8')).toBe('kept\n')

    // The volume is not empty now: the image's content is not copied again (seed.txt removed stays removed).
    await rm(join(data, 'seed.txt'))
    const second = await ok([
      'containers',
      'start',
      '-a',
      '--rm',
      '-v',
      'seeded:/data:ro',
      'v2',
      IMAGE,
      'sh',
      '-c',
      'ls /data; cat /data/new; touch /data/x || echo read-only',
    ])
    expect(second.stdout).toMatch(/^link\nnew\nsub\nkept\n(.|\n)*read-only\n$/)
    expect(await mountedUnder(root)).toEqual([])
    expect(await readdir(join(root, ns, 'seeded'))).toEqual(['_data'])
    expect(await containerSnapshots()).toEqual([])
  })

  it('a symlink on PATH is resolved inside the image, never on the host; nocopy leaves it empty', async () => {
    await ok(['containers', 'start', '-a', '--rm', '-v', 'etc:/hostetc', '-v', 'up:/up/up/data', '-v', 'empty:/data:nocopy', 'v3', IMAGE, 'true'])
    // Besides the image's two files, only the mount points runc made for the /etc files ctr mounts (network).
    const made = ['hostname', 'hosts', 'resolv.conf']
    expect((await readdir(volumeData('etc'))).filter((n) => !made.includes(n)).sort()).toEqual(['group', 'passwd'])
    for (const name of made) expect((await stat(join(volumeData('etc'), name))).size).toBe(0)
    expect(await readFile(join(volumeData('etc'), 'passwd'), 'utf8')).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh\nnobody/)
    expect((await readdir(volumeData('up'))).sort()).toEqual(['link', 'seed.txt', 'sub'])
    expect(await readdir(volumeData('empty'))).toEqual([])
  })

  it('a volume in use is listed with its container and refused by rm (naming it) until the container is deleted', async () => {
    await ok(['containers', 'start', '--no-log', '-v', 'busy:/data', 'v-busy', IMAGE, 'sleep', '1000'])
    const listed = JSON.parse((await ok(['volumes', '--json'])).stdout) as Array<{name: string; containers: string[]; mountpoint: string}>
    expect(listed.find((v) => v.name === 'busy')).toEqual({name: 'busy', containers: ['v-busy'], mountpoint: volumeData('busy')})
    expect((await ok(['volumes', 'ls', '-q', '--filter', 'dangling=false'])).stdout).toBe('busy\n')
    const table = (await ok(['volumes'])).stdout.split('\n')
    expect(table[0]).toMatch(/^NAME\s+CONTAINERS\s+MOUNTPOINT$/)
    expect(table.find((line) => line.startsWith('busy '))).toMatch(/^busy\s+v-busy\s+\//)

    const refused = await cli(['volumes', 'rm', 'busy', 'seeded'])
    expect(refused.code).toBe(125)
    expect(refused.stderr).toBe('ctr: volume "busy" is in use by container v-busy\n')
    expect(refused.stdout).toBe('seeded\n') // the other one still goes
    expectOneLineError(await cli(['volumes', 'rm', '-f', 'busy']), /volume "busy" is in use by container v-busy/)
    expect((await readdir(volumeData('busy'))).length).toBeGreaterThan(0)

    await ok(['containers', 'delete', '--force', 'v-busy'])
    expect((await ok(['volumes', 'rm', 'busy'])).stdout).toBe('busy\n')
    await expect(lstat(join(root, ns, 'busy'))).rejects.toThrow(/ENOENT/)
  })
})

describe('ctr volumes', () => {
  it('create, ls, -q, --json, --filter dangling, the seed one-liner, prune', async () => {
    expect((await ok(['volumes', 'create', 'a1', 'b2'])).stdout).toBe('a1\nb2\n')
    expect((await ok(['volumes', 'create', 'a1'])).stdout).toBe('a1\n') // an existing one is found, as docker
    expect((await stat(volumeData('a1'))).mode & 0o7777).toBe(0o755)
    expect((await stat(join(root, ns))).mode & 0o777).toBe(0o700)
    await ok(['containers', 'start', '--no-log', '-v', 'used:/data', 'v-used', IMAGE, 'sleep', '1000'])

    const quiet = (await ok(['volumes', 'ls', '-q', '--filter', 'dangling=true'])).stdout.split('\n').filter(Boolean)
    expect(quiet).toEqual(expect.arrayContaining(['a1', 'b2']))
    expect(quiet).not.toContain('used')
    expect((await ok(['volumes', '-q', '-f', 'name=2'])).stdout).toBe('b2\n')
    const json = JSON.parse((await ok(['volumes', 'ls', '--json', '--filter', 'dangling=true', '--filter', 'name=a'])).stdout)
    expect(json).toEqual([{name: 'a1', containers: [], mountpoint: volumeData('a1')}])
    expectOneLineError(await cli(['volumes', '--filter', 'driver=local']), /invalid filter "driver=local"/)

    // The seed's `ctr volumes rm $(ctr volumes ls -q --filter dangling=true)`.
    const removed = await ok(['volumes', 'rm', ...quiet])
    expect(removed.stdout.split('\n').filter(Boolean).sort()).toEqual([...quiet].sort())
    expect((await ok(['volumes', '-q'])).stdout).toBe('used\n')

    // prune: no terminal, no question; only the dangling go, each printed.
    await ok(['volumes', 'create', 'p1', 'p2'])
    const pruned = await ok(['volumes', 'prune'])
    expect(pruned.stdout).toBe('p1\np2\n')
    expect((await ok(['volumes', '-q'])).stdout).toBe('used\n')
    await ok(['containers', 'delete', '--force', 'v-used'])
    expect((await ok(['volumes', 'prune', '--force'])).stdout).toBe('used\n')
    expect(await readdir(join(root, ns))).toEqual(['.locks'])

    const missing = await cli(['volumes', 'rm', 'nothere'])
    expectOneLineError(missing, /volume "nothere" not found/)
    expect((await cli(['volumes', 'rm', '-f', 'nothere'])).code).toBe(0)
  })

  it('create and rm of several print the names in the order given (before: as each finished)', async () => {
    const names = Array.from({length: 8}, (_, i) => `order${i}`)
    expect((await ok(['volumes', 'create', ...names])).stdout).toBe(`${names.join('\n')}\n`)
    expect((await ok(['volumes', 'rm', ...names])).stdout).toBe(`${names.join('\n')}\n`)
  })

  it.each([
    ['volumes create', ['volumes', 'create', 'bad/name'], /invalid volume name "bad\/name"/],
    ['volumes create dot', ['volumes', 'create', '.hidden'], /invalid volume name "\.hidden"/],
    ['volumes rm', ['volumes', 'rm', '../x'], /invalid volume name "\.\.\/x"/],
    // Its lock file, NAME.lock, must fit in 255 bytes (before: a raw ENAMETOOLONG naming the lock file).
    ['volumes create long', ['volumes', 'create', 'v'.repeat(251)], /invalid volume name "v{251}": .*at most 250 characters/],
    ['-v', ['containers', 'start', '-v', 'a:b:c:/x', 'v-bad', IMAGE, 'true'], /invalid --volume "a:b:c:\/x"/],
    ['-v name', ['containers', 'start', '-v', '_x:/data', 'v-bad', IMAGE, 'true'], /invalid --volume "_x:\/data": "_x" is neither a host path/],
  ])('a bad name: %s → one line, 125, nothing made', async (_what, args, message) => {
    const before = await readdir(join(root, ns)).catch(() => [])
    expectOneLineError(await cli(args), message)
    expect(await readdir(join(root, ns)).catch(() => [])).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout).not.toContain('v-bad')
  })

  it('a symlink planted at a volume (or its _data) is refused and not followed', async () => {
    await ok(['volumes', 'create', 'probe']) // makes the namespace's directory
    const target = join(f.dir, 'elsewhere')
    await mkdir(target)
    await writeFile(join(target, 'keep'), 'mine\n')
    await symlink(target, join(root, ns, 'evil'))
    expectOneLineError(await cli(['volumes', 'create', 'evil']), /volume "evil" is not safe to use: .*evil is a symbolic link/)
    const start = await cli(['containers', 'start', '-a', '--rm', '-v', 'evil:/data', 'v-evil', IMAGE, 'true'])
    expectOneLineError(start, /volume "evil" is not safe to use/)
    expectOneLineError(await cli(['volumes', 'rm', 'evil']), /volume "evil" is not safe to use/)
    expect(await readdir(target)).toEqual(['keep'])
    expect(await containerSnapshots()).toEqual([])
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')

    await rm(volumeData('probe'), {recursive: true})
    await symlink(target, volumeData('probe'))
    expectOneLineError(await cli(['containers', 'start', '-a', '--rm', '-v', 'probe:/data', 'v-evil', IMAGE, 'true']), /_data is not a directory/)
    expect(await readdir(target)).toEqual(['keep'])
    await rm(join(root, ns, 'evil'))
    await rm(join(root, ns, 'probe'), {recursive: true})
  })
})
