/**
 * The images part of the library, as a program uses it (the BUILT dist/index.js): import from a stream,
 * list, remove, and a failed import as a CtrError leaving nothing.
 */
import {createReadStream} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {EMPTY_STATE, type ImagesFixture, setupImagesFixture} from './images-fixture'

type Library = typeof import('../../src/index')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(join(__dirname, '..', '..', 'dist', 'index.js')) as Library

let f: ImagesFixture
let ctr: InstanceType<Library['Containerd']>
let archive: string
let ns: string
const NAME = 'example.com/lib/tiny:1'

beforeAll(async () => {
  f = await setupImagesFixture('imglib')
  ns = f.namespace('lib')
  ctr = new lib.Containerd({address: f.address, namespace: ns})
  archive = join(f.dir, 'tiny.tar')
  await writeOciArchive(archive, [{image: await buildImage({layers: [filesLayer({'a.txt': 'a\n'})], gzip: true}), name: NAME}])
})

afterAll(async () => {
  ctr?.close()
  await f?.cleanup()
})

describe('Containerd.images (dist/index.js)', () => {
  it('imports from a stream with progress, lists, removes', async () => {
    const events: string[] = []
    const [image] = await ctr.images.import({source: createReadStream(archive), label: 'tiny.tar', onProgress: (e) => events.push(e.phase)})
    expect(image).toMatchObject({name: NAME, created: true, unpacked: {snapshotter: 'overlayfs', applied: 1, platform: 'linux/amd64'}})
    expect(events).toContain('read')
    expect(events).toContain('unpack')
    const listed = await ctr.images.list()
    expect(listed.map((i) => [i.name, i.platforms])).toEqual([[NAME, ['linux/amd64']]])
    expect(lib.formatSize(listed[0].size)).toMatch(/B$/)
    expect(await ctr.images.remove(NAME, {sync: true})).toEqual({name: NAME, digest: image.target.digest})
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  })

  it('a failed import is a CtrError and leaves nothing', async () => {
    const error = await ctr.images.import({source: archive, platform: 'linux/s390x'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(lib.CtrError)
    expect(error).toMatchObject({kind: 'usage', exitCode: 125, message: expect.stringMatching(/has no manifest for linux\/s390x/)})
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  })
})
