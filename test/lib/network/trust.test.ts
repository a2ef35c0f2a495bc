/**
 * ctr runs CNI plugins as root and hands them configuration: plugins only from directories nobody else can
 * write, and only root's binaries that others cannot write; configuration only from a private directory.
 */
import {chmod, copyFile, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {findPlugin, pluginDirs} from '../../../src/lib/network/cni'
import {loadNetworks} from '../../../src/lib/network/networks'

const root = process.getuid?.() === 0
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cni-trust-'))
})

afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe.runIf(root)('what ctr trusts', () => {
  it('runs a plugin from a private directory, refuses one others can write and a binary others can write', async () => {
    const good = join(dir, 'good')
    await mkdir(good, {mode: 0o755})
    await copyFile('/bin/true', join(good, 'bridge'))
    await chmod(join(good, 'bridge'), 0o755)
    expect(await findPlugin('bridge', [good])).toBe(join(good, 'bridge'))

    const open = join(dir, 'open')
    await mkdir(open)
    await chmod(open, 0o777)
    await copyFile('/bin/true', join(open, 'bridge'))
    await expect(findPlugin('bridge', [open])).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringMatching(/not used: .*open is writable by other users/),
    })

    await chmod(join(good, 'bridge'), 0o775)
    await expect(findPlugin('bridge', [good])).rejects.toMatchObject({message: expect.stringMatching(/bridge is writable by other users/)})
    await expect(findPlugin('../bridge', [good])).rejects.toMatchObject({kind: 'usage'})
  })

  it('$CNI_PATH replaces the default plugin directories', () => {
    expect(pluginDirs({})).toEqual(['/usr/lib/cni', '/opt/cni/bin'])
    expect(pluginDirs({CNI_PATH: '/a:/b/:'})).toEqual(['/a', '/b'])
  })

  it('refuses configuration from a directory others can write', async () => {
    const conf = join(dir, 'conf')
    await mkdir(conf)
    await writeFile(join(conf, 'x.conflist'), JSON.stringify({cniVersion: '1.0.0', name: 'x', plugins: [{type: 'bridge'}]}))
    await chmod(conf, 0o777)
    await expect(loadNetworks({confDir: conf, stateDir: join(dir, 'state'), pluginDirs: []})).rejects.toMatchObject({kind: 'permission-denied'})
    await chmod(conf, 0o755)
    expect((await loadNetworks({confDir: conf, stateDir: join(dir, 'state'), pluginDirs: []})).map((network) => network.info.name)).toEqual(['x'])
  })
})
