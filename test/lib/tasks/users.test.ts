import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {lookupIds, readEntries} from '../../../src/lib/tasks/users'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-users-'))
  for (const layer of ['upper', 'lower', 'escape']) await mkdir(join(dir, layer, 'etc'), {recursive: true})
  await writeFile(join(dir, 'lower', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1234:1235::/app:/bin/sh\n')
  await writeFile(join(dir, 'lower', 'etc', 'group'), 'app:x:1235:\n')
  // A layer whose passwd points at the host's: never read.
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
afterAll(() => rm(dir, {recursive: true, force: true}))

describe('user files over several roots (image layers)', () => {
  it('reads the first root that holds the file, passing over one whose file leads out of it', async () => {
    const roots = [join(dir, 'upper'), join(dir, 'escape'), join(dir, 'lower')]
    expect((await readEntries(roots, 'passwd')).map((f) => f[0])).toEqual(['root', 'app'])
    expect(await readEntries([join(dir, 'escape')], 'passwd')).toEqual([])
  })

  it('turns names into numbers, and names what is missing', async () => {
    const files = {roots: [join(dir, 'lower')], missing: (what: string, name: string) => `no ${what} ${name}`}
    expect(await lookupIds({user: 'app'}, files)).toEqual({uid: 1234, gid: 1235})
    expect(await lookupIds({user: '7', group: 'app'}, files)).toEqual({uid: 7, gid: 1235})
    await expect(lookupIds({user: 'ghost'}, files)).rejects.toThrow('no user ghost')
  })
})

describe('symlinks inside a root', () => {
  it('are resolved in that root: absolute, a linked directory, .. stopping at the root', async () => {
    expect(await readEntries([join(dir, 'linked')], 'passwd')).toEqual([['app', 'x', '77', '78', '', '/', '/bin/sh']])
    const files = {roots: [join(dir, 'absolute')], missing: (what: string, name: string) => `no ${what} ${name}`}
    expect(await lookupIds({user: 'app', group: 'app'}, files)).toEqual({uid: 88, gid: 89})
  })

  it('a FIFO or a link loop is passed over, never opened or followed forever', async () => {
    expect(await readEntries([join(dir, 'odd'), join(dir, 'lower')], 'passwd')).toHaveLength(2)
    expect(await readEntries([join(dir, 'odd')], 'group')).toEqual([])
  }, 5000)
})
