/**
 * `ctr images` (list) and `ctr images rm` against the real private containerd: the columns Go ctr's
 * `images ls` shows, -q, --json, containerd filters passed through, a bad filter; rm of several refs with
 * failures reported one line each, refusal of an image a container was created from, --force.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, multiPlatform, writeOciArchive} from '../helpers/image-archive'
import {expectOneLineError} from './containers-fixture'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let ns: string
const A = 'example.com/list/a:1'
const B = 'example.com/list/b:2'
const M = 'example.com/list/multi:1'

beforeAll(async () => {
  f = await setupImagesFixture('imglist')
  ns = f.namespace('ls')
  const base = await busyboxLayer()
  const a = await buildImage({layers: [base], gzip: true})
  const b = await buildImage({layers: [base, filesLayer({'b.txt': 'b\n'})], gzip: true})
  const arm = await buildImage({layers: [filesLayer({'arm.txt': 'arm\n'})], gzip: true, platform: {os: 'linux', architecture: 'arm64'}})
  const archive = join(f.dir, 'list.tar')
  await writeOciArchive(archive, [
    {image: a, name: A},
    {image: b, name: B},
    {image: multiPlatform([a, arm]), name: M},
  ])
  const result = await f.cli(ns, ['images', 'import', archive])
  expect(result.code, result.stderr).toBe(0)
  await f.go(ns, ['images', 'label', A, 'team=web'])
})

afterAll(async () => {
  await f?.cleanup()
})

describe('ctr images (list)', () => {
  it('REF TYPE DIGEST SIZE PLATFORMS, the values Go ctr lists', async () => {
    const ours = await f.cli(ns, ['images'])
    expect(ours.code, ours.stderr).toBe(0)
    const lines = ours.stdout.trim().split('\n')
    expect(lines[0].split(/\s+/)).toEqual(['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS'])
    const rows = lines.slice(1).map((l) => l.trim().split(/\s+/))
    const go = (await f.rows(ns, ['images', 'ls'])).map((r) => r.slice(0, 6))
    expect(rows).toEqual(go)
    expect(rows.map((r) => [r[0], r[5]])).toEqual([
      [A, 'linux/amd64'],
      [B, 'linux/amd64'],
      [M, 'linux/amd64,linux/arm64'],
    ])
  })

  it('-q names only; --json the objects, labels included', async () => {
    expect((await f.cli(ns, ['images', '-q'])).stdout).toBe(`${A}\n${B}\n${M}\n`)
    const json = JSON.parse((await f.cli(ns, ['images', '--json'])).stdout)
    expect(json).toHaveLength(3)
    expect(json[0]).toMatchObject({name: A, mediaType: 'application/vnd.oci.image.manifest.v1+json', platforms: ['linux/amd64'], labels: {team: 'web'}})
    expect(json[0].size).toBeGreaterThan(500_000)
    expect(json[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(json[2].mediaType).toBe('application/vnd.oci.image.index.v1+json')
  })

  it('--filter goes to containerd as it is; several are ORed; the ls and list aliases', async () => {
    expect((await f.cli(ns, ['images', '-q', '--filter', 'name~=list/b'])).stdout).toBe(`${B}\n`)
    expect((await f.cli(ns, ['images', '-q', '--filter', 'labels.team==web'])).stdout).toBe(`${A}\n`)
    expect((await f.cli(ns, ['images', '-q', '-f', `name==${B}`, '-f', 'labels.team==web'])).stdout).toBe(`${A}\n${B}\n`)
    expect((await f.cli(ns, ['images', 'ls', '-q', '--filter', 'target.mediatype~=index'])).stdout).toBe(`${M}\n`)
    expect((await f.cli(ns, ['images', 'list', '-q', '--filter', 'name==nothing'])).stdout).toBe('')
  })

  it('a malformed filter is one line from containerd', async () => {
    expectOneLineError(await f.cli(ns, ['images', '--filter', 'name==']), /^ctr: .*filter/i)
  })
})

describe('ctr images rm', () => {
  it('refuses an image a container was created from, naming it; --force removes it anyway', async () => {
    const used = f.namespace('rm-used')
    const a = await buildImage({layers: [filesLayer({'a.txt': 'a\n'})], gzip: true})
    const archive = join(f.dir, 'used.tar')
    await writeOciArchive(archive, [{image: a, name: A}])
    expect((await f.cli(used, ['images', 'import', archive])).code).toBe(0)
    const created = await f.go(used, ['containers', 'create', A, 'rm-user-1'])
    expect(created.code, created.stderr).toBe(0)
    expectOneLineError(
      await f.cli(used, ['images', 'rm', A]),
      new RegExp(`^ctr: image "${A}" is used by container rm-user-1 \\(delete them first, or use --force\\)$`, 'm'),
    )
    expect((await f.go(used, ['images', 'ls', '-q'])).stdout).toBe(`${A}\n`)
    const forced = await f.cli(used, ['images', 'rm', '--force', A])
    expect(forced).toMatchObject({code: 0, stdout: `${A}\n`, stderr: ''})
    expect((await f.go(used, ['images', 'ls', '-q'])).stdout).toBe('')
  })

  it('acts on every ref: removed ones printed, missing ones one line each on stderr, exit 0 as Go ctr', async () => {
    const many = f.namespace('rm-many')
    const archive = join(f.dir, 'many.tar')
    const a = await buildImage({layers: [filesLayer({'m.txt': 'm\n'})], gzip: true})
    await writeOciArchive(archive, [
      {image: a, name: 'example.com/m/one:1'},
      {image: a, name: 'example.com/m/two:1'},
    ])
    expect((await f.cli(many, ['images', 'import', archive])).code).toBe(0)
    const refs = ['example.com/m/one:1', 'example.com/m/nope:1', 'example.com/m/two:1', 'example.com/m/gone:2']
    const result = await f.cli(many, ['images', 'rm', ...refs])
    // Go ctr's exit for the same refs (now all missing) is ours too.
    expect(result.code).toBe((await f.go(many, ['images', 'rm', ...refs])).code)
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('example.com/m/one:1\nexample.com/m/two:1\n')
    expect(result.stderr).toBe(
      `ctr: image "example.com/m/nope:1" not found in namespace "${many}"\nctr: image "example.com/m/gone:2" not found in namespace "${many}"\n`,
    )
    expect((await f.go(many, ['images', 'ls', '-q'])).stdout).toBe('')
  })

  it('--json returns what was removed; --sync waits until containerd has freed the content', async () => {
    const sync = f.namespace('rm-sync')
    const archive = join(f.dir, 'sync.tar')
    const a = await buildImage({layers: [filesLayer({'s.txt': 's\n'})], gzip: true})
    await writeOciArchive(archive, [{image: a, name: 'example.com/s/one:1'}])
    expect((await f.cli(sync, ['images', 'import', archive])).code).toBe(0)
    const result = await f.cli(sync, ['images', 'rm', '--sync', '--json', 'example.com/s/one:1'])
    expect(JSON.parse(result.stdout)).toEqual([{name: 'example.com/s/one:1', digest: a.manifest.digest}])
    expect(await f.state(sync)).toEqual({images: [], snapshots: [], content: [], leases: [], ingests: []})
  })
})
