import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checkSpec, containerSpec, DEFAULT_PATH, loadBundle} from '../../../src/lib/containers/bundle'
import {CtrError} from '../../../src/lib/containerd/errors'

const good = {process: {args: ['sh'], env: ['A=b']}, root: {path: 'rootfs'}, linux: {}}

describe('checkSpec', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', [], /must hold a JSON object/],
    ['no process', {root: {path: 'r'}}, /"process" must be an object/],
    ['args a string', {process: {args: 'sh'}, root: {path: 'r'}}, /"process.args" must be a non-empty array of strings/],
    ['args empty', {process: {args: []}, root: {path: 'r'}}, /"process.args" must be a non-empty array/],
    ['args not strings', {process: {args: ['sh', 1]}, root: {path: 'r'}}, /"process.args"/],
    ['empty command', {process: {args: ['']}, root: {path: 'r'}}, /"process.args\[0\]"/],
    ['env not strings', {process: {args: ['sh'], env: [1]}, root: {path: 'r'}}, /"process.env"/],
    ['terminal not boolean', {process: {args: ['sh'], terminal: 'yes'}, root: {path: 'r'}}, /"process.terminal"/],
    ['no root', {process: {args: ['sh']}}, /"root" must be an object/],
    ['root.path not a string', {process: {args: ['sh']}, root: {path: 3}}, /"root.path" must be a non-empty string/],
    ['linux not an object', {...good, linux: 'x'}, /"linux" must be an object/],
  ]
  for (const [name, spec, message] of bad) {
    it(`rejects ${name}, naming the file`, () => {
      const error = (() => {
        try {
          checkSpec(spec, '/b/config.json')
        } catch (e) {
          return e as CtrError
        }
        throw new Error('accepted')
      })()
      expect(error).toBeInstanceOf(CtrError)
      expect(error.message).toMatch(/^\/b\/config.json: /)
      expect(error.message).toMatch(message)
      expect(error.message).not.toContain('\n')
    })
  }
  it('accepts a minimal spec', () => {
    expect(checkSpec(good, 'c')).toBe(good)
  })
})

describe('containerSpec', () => {
  it('makes root absolute, sets the cgroups path, adds PATH, sets terminal, and leaves the input alone', () => {
    const bundle = {spec: structuredClone(good), rootfs: '/abs/rootfs'}
    const spec = containerSpec(bundle, {namespace: 'ns', id: 'web', terminal: true})
    expect(spec.root.path).toBe('/abs/rootfs')
    expect(spec.linux?.cgroupsPath).toBe('/ns/web')
    expect(spec.process.env).toEqual(['A=b', DEFAULT_PATH])
    expect(spec.process.terminal).toBe(true)
    expect(bundle.spec).toEqual(good)
  })
  it('keeps a PATH and a cgroups path the bundle sets', () => {
    const spec = containerSpec(
      {spec: {...good, process: {args: ['sh'], env: ['PATH=/x'], terminal: true}, linux: {cgroupsPath: '/mine'}}, rootfs: '/r'},
      {namespace: 'ns', id: 'web', terminal: false},
    )
    expect(spec.process.env).toEqual(['PATH=/x'])
    expect(spec.linux?.cgroupsPath).toBe('/mine')
    expect(spec.process.terminal).toBe(false)
  })
})

describe('loadBundle', () => {
  let dir: string
  const make = async (name: string, config?: string, rootfs = true) => {
    const path = join(dir, name)
    await mkdir(path)
    if (config !== undefined) await writeFile(join(path, 'config.json'), config)
    if (rootfs) await mkdir(join(path, 'rootfs'))
    return path
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-bundle-test-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('resolves relative and symlinked paths to the real absolute path', async () => {
    const path = await make('ok', JSON.stringify(good))
    await symlink(path, join(dir, 'link'))
    const bundle = await loadBundle(relative(process.cwd(), join(dir, 'link')))
    expect(bundle.path).toBe(path)
    expect(bundle.rootfs).toBe(join(path, 'rootfs'))
    expect(bundle.configPath).toBe(join(path, 'config.json'))
  })
  it('names the missing directory', async () => {
    await expect(loadBundle(join(dir, 'nope'))).rejects.toThrow(`bundle ${join(dir, 'nope')} does not exist`)
  })
  it('names a bundle that is a file', async () => {
    await writeFile(join(dir, 'file'), '')
    await expect(loadBundle(join(dir, 'file'))).rejects.toThrow(/is not a directory/)
  })
  it('names a missing config.json', async () => {
    const path = await make('noconfig')
    await expect(loadBundle(path)).rejects.toThrow(`${path}/config.json does not exist`)
  })
  it('names malformed JSON', async () => {
    const path = await make('malformed', '{"process":')
    await expect(loadBundle(path)).rejects.toThrow(new RegExp(`^${path}/config.json: invalid JSON: `))
  })
  it('names a missing rootfs', async () => {
    const path = await make('norootfs', JSON.stringify(good), false)
    await expect(loadBundle(path)).rejects.toThrow(`root filesystem ${path}/rootfs (root.path in ${path}/config.json) does not exist`)
  })
})
