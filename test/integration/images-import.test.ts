/**
 * `ctr images import` against the real private containerd, with Go's ctr importing the same archives in
 * a namespace beside ours as the reference: the image records (REF TYPE DIGEST SIZE PLATFORMS), the
 * snapshot chains, the content and its GC labels must come out the same; a container Go ctr runs from our
 * image prints what the image holds. OCI layouts and docker save archives, gzip, stdin, re-imports,
 * naming flags and platforms.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runInPty} from '../helpers/pty'
import {CLI, cliEnv} from '../helpers/run-cli'
import {buildImage, busyboxLayer, type BuiltImage, filesLayer, multiPlatform, writeDockerArchive, writeOciArchive} from '../helpers/image-archive'
import {EMPTY_STATE, type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let image: BuiltImage
let dockerImage: BuiltImage
let oci: string
let ociGz: string
let docker: string
const NAME = 'example.com/ctr-test/busybox:1'

beforeAll(async () => {
  f = await setupImagesFixture('import')
  const layers = [await busyboxLayer(), filesLayer({'etc/': {dir: true}, 'etc/hello': 'hello from the image\n'})]
  image = await buildImage({layers, gzip: true, config: {Env: ['PATH=/bin'], Cmd: ['cat', '/etc/hello']}})
  dockerImage = await buildImage({layers, docker: true})
  oci = join(f.dir, 'oci.tar')
  ociGz = join(f.dir, 'oci.tar.gz')
  docker = join(f.dir, 'docker.tar')
  await writeOciArchive(oci, [{image, name: NAME}])
  await writeOciArchive(ociGz, [{image, name: NAME}], {gzip: true})
  await writeDockerArchive(docker, [{image: dockerImage, tags: ['ctr-test/busybox:1', 'busybox']}], {symlinkRepeatedLayers: true})
})

afterAll(async () => {
  await f?.cleanup()
})

/** Go ctr's `images ls` rows without LABELS, `snapshots ls` rows, and `content ls` as digest + labels. */
async function store(namespace: string) {
  const images = (await f.rows(namespace, ['images', 'ls'])).map((r) => r.slice(0, 6))
  const snapshots = await f.rows(namespace, ['snapshots', 'ls'])
  const content = (await f.rows(namespace, ['content', 'ls'])).map((r) => [r[0], (r.at(-1) ?? '').split(',').sort().join(',')])
  return {images, snapshots, content}
}

async function importBoth(archive: string, args: string[] = []) {
  const ours = f.namespace('ours')
  const go = f.namespace('go')
  const result = await f.cli(ours, ['images', 'import', ...args, archive])
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  const reference = await f.go(go, ['images', 'import', ...args, archive])
  expect(reference.code, reference.stderr).toBe(0)
  // Both delete their lease without waiting for the garbage collector: settle it before comparing.
  await f.gc()
  return {ours, go, stdout: result.stdout}
}

describe('ctr images import', () => {
  it('an OCI archive: the same image, snapshots and content labels as Go ctr, and Go ctr runs it', async () => {
    const {ours, go, stdout} = await importBoth(oci)
    expect(stdout).toBe(`${NAME}\n`)
    const [a, b] = [await store(ours), await store(go)]
    expect(a).toEqual(b)
    expect(a.images).toEqual([[NAME, 'application/vnd.oci.image.manifest.v1+json', image.manifest.digest, expect.stringMatching(/^\d+\.\d$/), 'MiB', 'linux/amd64']])
    expect(a.snapshots).toHaveLength(2)
    // The GC labels that keep the image: children of the manifest, the config's snapshot, layers' diff IDs.
    const labels = Object.fromEntries(a.content)
    expect(labels[image.manifest.digest]).toContain(`containerd.io/gc.ref.content.config=${image.config.digest}`)
    expect(labels[image.manifest.digest]).toContain(`containerd.io/gc.ref.content.l.1=${image.layers[1].digest}`)
    expect(labels[image.config.digest]).toMatch(/^containerd.io\/gc.ref.snapshot.overlayfs=sha256:/)
    expect(labels[image.layers[0].digest]).toBe(`containerd.io/uncompressed=${image.diffIds[0]}`)
    expect((await f.state(ours)).leases).toEqual([])

    const run = await f.go(ours, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), NAME, 'import-run-1'])
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe('hello from the image\n')
  })

  it('a docker save archive (uncompressed layers, a symlinked one): Go ctr\'s manifest digests and names', async () => {
    const {ours, go, stdout} = await importBoth(docker)
    expect(stdout).toBe('docker.io/ctr-test/busybox:1\ndocker.io/library/busybox:latest\n')
    const [a, b] = [await store(ours), await store(go)]
    expect(a).toEqual(b)
    expect(a.images.map((r) => [r[0], r[1]])).toEqual([
      ['docker.io/ctr-test/busybox:1', 'application/vnd.docker.distribution.manifest.v2+json'],
      ['docker.io/library/busybox:latest', 'application/vnd.docker.distribution.manifest.v2+json'],
    ])
    const run = await f.go(ours, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), 'docker.io/library/busybox:latest', 'import-run-2', 'cat', '/etc/hello'])
    expect(run.stdout).toBe('hello from the image\n')
  })

  it('a gzip-compressed archive from stdin gives the same as the plain file', async () => {
    const ours = f.namespace('gz')
    const result = await f.cliWithStdin(ours, ['images', 'import', '-'], ociGz)
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe(`${NAME}\n`)
    const go = f.namespace('gz-go')
    expect((await f.go(go, ['images', 'import', oci])).code).toBe(0)
    await f.gc()
    expect(await store(ours)).toEqual(await store(go))
  })

  it('importing again changes nothing and sends nothing new; --json tells created from updated', async () => {
    const ns = f.namespace('again')
    const first = await f.cli(ns, ['images', 'import', '--json', oci])
    expect(JSON.parse(first.stdout)).toEqual([
      {name: NAME, created: true, target: {mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, annotations: expect.any(Object)}, unpacked: {snapshotter: 'overlayfs', chainId: expect.stringMatching(/^sha256:/), applied: 2, platform: 'linux/amd64'}},
    ])
    const before = await store(ns)
    const second = await f.cli(ns, ['images', 'import', '--json', oci])
    expect(second.code, second.stderr).toBe(0)
    expect(JSON.parse(second.stdout)[0]).toMatchObject({created: false, unpacked: {applied: 0}})
    expect(await store(ns)).toEqual(before)
    expect((await f.state(ns)).leases).toEqual([])
  })

  it('--no-unpack: the image and its content, no snapshots (as Go ctr)', async () => {
    const {ours, go} = await importBoth(oci, ['--no-unpack'])
    expect((await store(ours)).snapshots).toEqual([])
    expect(await store(ours)).toEqual(await store(go))
  })

  it('--base-name and --index-name name tag-only refs and the index as Go ctr does', async () => {
    const archive = join(f.dir, 'tags.tar')
    await writeOciArchive(archive, [{image, refName: 'v1'}])
    const {ours, go, stdout} = await importBoth(archive, ['--base-name', 'example.com/base', '--index-name', 'example.com/index:all'])
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['example.com/base:v1', 'example.com/index:all'])
    expect(await store(ours)).toEqual(await store(go))

    // Without --base-name a tag-only ref gets import-YYYY-MM-DD, as Go ctr names it.
    const plain = await importBoth(archive, ['--no-unpack'])
    expect((await store(plain.ours)).images.map((r) => r[0])).toEqual((await store(plain.go)).images.map((r) => r[0]))
    expect(plain.stdout).toMatch(/^import-\d{4}-\d{2}-\d{2}:v1\n$/)
  })

  it('a multi-platform index: this machine\'s platform by default, --platform, --all-platforms', async () => {
    const arm = await buildImage({layers: [filesLayer({'arm.txt': 'arm64\n'})], gzip: true, platform: {os: 'linux', architecture: 'arm64'}})
    const archive = join(f.dir, 'multi.tar')
    await writeOciArchive(archive, [{image: multiPlatform([image, arm]), name: 'example.com/multi:1'}])

    const host = await importBoth(archive)
    const [a, b] = [await store(host.ours), await store(host.go)]
    expect(a).toEqual(b)
    expect(a.images[0][5]).toBe('linux/amd64,linux/arm64')
    expect(a.content.map((r) => r[0])).not.toContain(arm.layers[0].digest)

    const armOnly = await importBoth(archive, ['--platform', 'linux/arm64', '--no-unpack'])
    expect(await store(armOnly.ours)).toEqual(await store(armOnly.go))
    expect((await store(armOnly.ours)).content.map((r) => r[0])).toContain(arm.layers[0].digest)

    const all = await importBoth(archive, ['--all-platforms'])
    expect(await store(all.ours)).toEqual(await store(all.go))
  })

  it('progress never reaches a pipe: stderr stays empty, stdout has the names only', async () => {
    const ns = f.namespace('quiet')
    const result = await f.cli(ns, ['images', 'import', '--no-unpack', oci])
    expect(result).toMatchObject({code: 0, stdout: `${NAME}\n`, stderr: ''})
  })

  it('on a terminal, a progress line on stderr (reading, then unpacking), erased at the end; none under --json', async () => {
    const ns = f.namespace('tty')
    // CI=true (as CI runs) turns spinners off: this test is about the terminal case.
    const env = cliEnv({address: f.address, namespace: ns, env: {CI: undefined}})
    const shown = await runInPty([process.execPath, CLI, 'images', 'import', oci], {env})
    expect(shown.code, shown.output).toBe(0)
    expect(shown.output).toMatch(/reading the archive|unpacking example\.com\/ctr-test\/busybox:1: layer \d of 2/)
    expect(shown.output).toContain(NAME)
    const json = await runInPty([process.execPath, CLI, 'images', 'import', '--json', oci], {env})
    expect(json.code, json.output).toBe(0)
    expect(json.output).not.toMatch(/reading the archive|unpacking/)
  })

  it('leaves nothing of its own once done: no lease, no ingest', async () => {
    const ns = f.namespace('tidy')
    expect((await f.cli(ns, ['images', 'import', docker])).code).toBe(0)
    const state = await f.state(ns)
    expect({leases: state.leases, ingests: state.ingests}).toEqual({leases: EMPTY_STATE.leases, ingests: EMPTY_STATE.ingests})
  })
})
