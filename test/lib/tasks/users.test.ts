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
