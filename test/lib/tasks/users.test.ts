import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readdir, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {MOUNT_DIR, openImageRoot} from '../../../src/lib/containers/snapshot-root'
import {RootDir} from '../../../src/lib/containers/in-root'
import {resolveImageUser} from '../../../src/lib/containers/image-source'
import {lookupIds, readEntries} from '../../../src/lib/tasks/users'

let dir: string
const roots: RootDir[] = []
const root = async (name: string) => {
  const opened = await RootDir.open(join(dir, name), name)
  roots.push(opened)
  return opened
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-users-'))
  for (const layer of ['lower', 'escape']) await mkdir(join(dir, layer, 'etc'), {recursive: true})
  await writeFile(join(dir, 'lower', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1234:1235::/app:/bin/sh\n')
  await writeFile(join(dir, 'lower', 'etc', 'group'), 'app:x:1235:\n')
  // A root whose passwd points at the host's: never read.
  await symlink('/etc/passwd', join(dir, 'escape', 'etc', 'passwd'))
  // Links resolved inside their root: absolute, through a linked directory, climbing past the root.
  await mkdir(join(dir, 'linked', 'usr', 'lib'), {recursive: true})
  await writeFile(join(dir, 'linked', 'usr', 'lib', 'passwd'), 'app:x:77:78::/:/bin/sh\n')
  await symlink('usr/lib', join(dir, 'linked', 'etc'))
  await mkdir(join(dir, 'absolute', 'etc'), {recursive: true})
  await mkdir(join(dir, 'absolute', 'data'))
  await writeFile(join(dir, 'absolute', 'data', 'passwd'), 'app:x:88:89::/:/bin/sh\n')
  await symlink('/data/passwd', join(dir, 'absolute', 'etc', 'passwd'))
  await writeFile(join(dir, 'absolute', 'data', 'group'), 'app:x:89:\n')
  await symlink('../../../../../../../../data/group', join(dir, 'absolute', 'etc', 'group'))
  // Never opened: a FIFO (would block), a loop.
  await mkdir(join(dir, 'odd', 'etc'), {recursive: true})
  execFileSync('/usr/bin/mkfifo', [join(dir, 'odd', 'etc', 'passwd')])
  await symlink('group', join(dir, 'odd', 'etc', 'group'))
})
afterAll(async () => {
  await Promise.all(roots.map((r) => r.close()))
  await rm(dir, {recursive: true, force: true})
})

describe('user files in a root', () => {
  it('reads the root’s own file, never one its link leads to outside it', async () => {
    expect((await readEntries(await root('lower'), 'passwd')).map((f) => f[0])).toEqual(['root', 'app'])
    expect(await readEntries(await root('escape'), 'passwd')).toEqual([])
  })

  it('turns names into numbers, and names what is missing', async () => {
    const lower = await root('lower')
    const files = {root: async () => lower, missing: (what: string, name: string) => `no ${what} ${name}`}
    expect(await lookupIds({user: 'app'}, files)).toEqual({uid: 1234, gid: 1235})
    expect(await lookupIds({user: '7', group: 'app'}, files)).toEqual({uid: 7, gid: 1235})
    await expect(lookupIds({user: 'ghost'}, files)).rejects.toThrow('no user ghost')
  })

  it('numbers alone never open the root', async () => {
    const files = {root: () => Promise.reject(new Error('opened')), missing: () => 'missing'}
    expect(await lookupIds({user: '5', group: '6'}, files)).toEqual({uid: 5, gid: 6})
  })
})

describe('symlinks inside a root', () => {
  it('are resolved in that root: absolute, a linked directory, .. stopping at the root', async () => {
    expect(await readEntries(await root('linked'), 'passwd')).toEqual([['app', 'x', '77', '78', '', '/', '/bin/sh']])
    const absolute = await root('absolute')
    const files = {root: async () => absolute, missing: (what: string, name: string) => `no ${what} ${name}`}
    expect(await lookupIds({user: 'app', group: 'app'}, files)).toEqual({uid: 88, gid: 89})
  })

  it('a FIFO or a link loop is passed over, never opened or followed forever', async () => {
    const odd = await root('odd')
    expect(await readEntries(odd, 'passwd')).toEqual([])
    expect(await readEntries(odd, 'group')).toEqual([])
  }, 5000)
})

describe("an image's layers, as the container sees them", () => {
  it('an upper layer that deletes /etc/passwd (an overlay whiteout) hides the lower one’s users', async () => {
    // Layers as the overlayfs snapshotter stores them: the top one's /etc/passwd a whiteout (0/0 char device).
    for (const layer of ['l1/etc', 'l2/etc', 'l3']) await mkdir(join(dir, 'image', layer), {recursive: true})
    await writeFile(join(dir, 'image', 'l1', 'etc', 'passwd'), 'app:x:1234:1235::/:/bin/sh\n')
    execFileSync('/usr/bin/mknod', [join(dir, 'image', 'l2', 'etc', 'passwd'), 'c', '0', '0'])
    const mounts = (lowers: string[]) => [
      {type: 'overlay', source: 'overlay', target: '', options: ['upperdir=/nowhere', `lowerdir=${lowers.map((l) => join(dir, 'image', l)).join(':')}`]},
    ]
    const before = await readdir(MOUNT_DIR).catch(() => [])
    const open = (lowers: string[]) => () => openImageRoot(mounts(lowers), 'image "x"')
    expect(await resolveImageUser('app', open(['l3', 'l1']), 'x')).toEqual({uid: 1234, gid: 1235})
    await expect(resolveImageUser('app', open(['l2', 'l1']), 'x')).rejects.toThrow('image "x": no user "app" in its /etc/passwd')
    // Nothing left mounted or in the mount directory.
    expect(await readdir(MOUNT_DIR).catch(() => [])).toEqual(before)
    expect(execFileSync('/usr/bin/findmnt', ['-rn', '-o', 'TARGET'], {encoding: 'utf8'})).not.toContain(MOUNT_DIR)
  })
})
