/**
 * `ctr images import --compress-blobs` of a `docker save` archive (uncompressed layers), with Go's ctr
 * importing the same archive, with and without the flag, in namespaces beside ours. Go ctr 1.6 compresses
 * only with the flag; with it, our records are Go's but for the gzip bytes of the layers (zlib is not Go's
 * compress/flate), so the layer digests, and the manifest digest that names them, differ. The rest must be
 * Go's: media types, config, diff IDs, labels, snapshots; each side's import reuses the other's compressed
 * blobs; and a push sends the compressed layers.
 */
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, type BuiltImage, filesLayer, writeDockerArchive} from '../helpers/image-archive'
import {type PrivateRegistry, startRegistry} from '../helpers/registry'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const PLAIN = 'application/vnd.docker.image.rootfs.diff.tar'
const GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
const NAME = 'docker.io/ctr-test/compress:1'

let f: ImagesFixture
let registry: PrivateRegistry
let image: BuiltImage
let archive: string

interface Manifest {
  mediaType: string
  config: {mediaType: string; digest: string; size: number}
  layers: Array<{mediaType: string; digest: string; size: number}>
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

beforeAll(async () => {
  f = await setupImagesFixture('compress')
  const layers = [await busyboxLayer(), filesLayer({'etc/': {dir: true}, 'etc/hello': 'hello from a compressed layer\n'})]
  image = await buildImage({layers, docker: true, config: {Env: ['PATH=/bin'], Cmd: ['cat', '/etc/hello']}})
  archive = join(f.dir, 'docker.tar')
  await writeDockerArchive(archive, [{image, tags: ['ctr-test/compress:1']}])
  registry = await startRegistry()
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  await f?.cleanup()
})

async function target(namespace: string): Promise<string> {
  const rows = await f.rows(namespace, ['images', 'ls'])
  expect(rows.map((r) => r[0])).toEqual([NAME])
  return rows[0][2]
}

async function manifest(namespace: string): Promise<Manifest> {
  const got = await f.go(namespace, ['content', 'get', await target(namespace)])
  expect(got.code, got.stderr).toBe(0)
  return JSON.parse(got.stdout) as Manifest
}

/** Go ctr's snapshots and content (digest + sorted labels), with digests renamed by `rename`. */
async function store(namespace: string, rename: Map<string, string> = new Map()) {
  const swap = (text: string) => text.replace(/sha256:[a-f0-9]{64}/g, (d) => rename.get(d) ?? d)
  const snapshots = await f.rows(namespace, ['snapshots', 'ls'])
  const content = (await f.rows(namespace, ['content', 'ls'])).map((r) => [swap(r[0]), swap((r.at(-1) ?? '').split(',').sort().join(','))])
  return {snapshots, content: content.sort((a, b) => (a[0] < b[0] ? -1 : 1))}
}

async function importWith(namespace: string, side: 'ours' | 'go', args: string[]) {
  const result =
    side === 'ours' ? await f.cli(namespace, ['images', 'import', ...args, archive]) : await f.go(namespace, ['images', 'import', ...args, archive])
  expect(result.code, result.stderr).toBe(0)
}

describe('ctr images import --compress-blobs (docker save archives)', () => {
  it('without the flag, Go ctr 1.6 keeps the layers uncompressed too: the same records', async () => {
    const [ours, go] = [f.namespace('plain-ours'), f.namespace('plain-go')]
    await importWith(ours, 'ours', [])
    await importWith(go, 'go', [])
    await f.gc()
    expect(await target(ours)).toBe(await target(go))
    expect((await manifest(ours)).layers.map((l) => [l.mediaType, l.digest])).toEqual(image.diffIds.map((d) => [PLAIN, d]))
    expect(await store(ours)).toEqual(await store(go))
  })

  it("Go ctr's manifest but for the gzip bytes: media types, config, diff IDs, labels, snapshots", async () => {
    const [ours, go] = [f.namespace('gz-ours'), f.namespace('gz-go')]
    await importWith(ours, 'ours', ['--compress-blobs'])
    await importWith(go, 'go', ['--compress-blobs'])
    await f.gc()
    const [a, b] = [await manifest(ours), await manifest(go)]
    expect(a.mediaType).toBe(b.mediaType)
    expect(a.config).toEqual(b.config)
    expect(a.config.digest).toBe(image.config.digest)
    expect(a.layers.map((l) => l.mediaType)).toEqual(image.layers.map(() => GZIP))
    expect(b.layers.map((l) => l.mediaType)).toEqual(image.layers.map(() => GZIP))
    // zlib's deflate is not Go's: each compressed layer (and so the manifest) has a digest of its own.
    for (const [i, layer] of a.layers.entries()) expect(layer.digest).not.toBe(b.layers[i].digest)
    // Everything else is Go's once our digests are renamed to Go's counterparts; the uncompressed blobs
    // are gone (only the import's lease held them), each gzip layer is labelled with its diff ID.
    const rename = new Map([[await target(ours), await target(go)], ...a.layers.map((l, i): [string, string] => [l.digest, b.layers[i].digest])])
    const [mine, theirs] = [await store(ours, rename), await store(go)]
    expect(mine).toEqual(theirs)
    expect(mine.snapshots).toHaveLength(image.layers.length)
    for (const [i, layer] of b.layers.entries()) expect(Object.fromEntries(mine.content)[layer.digest]).toBe(`containerd.io/uncompressed=${image.diffIds[i]}`)
    expect(await f.state(ours)).toMatchObject({leases: [], ingests: []})

    // Each side's plain import then finds the other's compressed layers by that label (Go's resolveLayers).
    await importWith(ours, 'go', [])
    await importWith(go, 'ours', [])
    expect((await manifest(ours)).layers).toEqual(a.layers)
    expect((await manifest(go)).layers).toEqual(b.layers)

    const run = await f.go(ours, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), NAME, 'compress-run-1'])
    expect(run.stdout).toBe('hello from a compressed layer\n')
  })

  it('a push sends the compressed layers, each of them the diff ID once gunzipped', async () => {
    const ns = f.namespace('push')
    await importWith(ns, 'ours', ['--compress-blobs'])
    const ref = `${registry.host}/ctr/compress:1`
    const pushed = await f.cli(ns, ['images', 'push', '--plain-http', ref, NAME])
    expect(pushed.code, pushed.stderr).toBe(0)
    const response = await fetch(`http://${registry.host}/v2/ctr/compress/manifests/1`, {
      headers: {accept: 'application/vnd.docker.distribution.manifest.v2+json'},
    })
    const remote = (await response.json()) as Manifest
    expect(remote).toEqual(await manifest(ns))
    for (const [i, layer] of remote.layers.entries()) {
      expect(layer.mediaType).toBe(GZIP)
      const blob = Buffer.from(await (await fetch(`http://${registry.host}/v2/ctr/compress/blobs/${layer.digest}`)).arrayBuffer())
      expect([blob.length, sha256(blob)]).toEqual([layer.size, layer.digest])
      expect(blob.length).toBeLessThan(image.layers[i].size)
      expect(sha256(gunzipSync(blob))).toBe(image.diffIds[i])
    }
  }, 120_000)
})
