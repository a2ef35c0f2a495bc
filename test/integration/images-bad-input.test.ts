/**
 * What a bad archive does to `ctr images import`: one `ctr: ...` line naming the archive and what is wrong,
 * exit 125, and nothing left in the namespace (no image record, no snapshot, no content, no lease, no
 * ingest: the lease is deleted with a synchronous garbage collection). And Ctrl-C in the middle of an
 * import: exit 130 and, again, nothing left.
 */
import {createReadStream} from 'node:fs'
import {truncate, writeFile, copyFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, type BuiltImage, filesLayer, writeDockerArchive, writeOciArchive, writeTar} from '../helpers/image-archive'
import {expectOneLineError, sleep} from './containers-fixture'
import {EMPTY_STATE, type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let image: BuiltImage
let good: string

beforeAll(async () => {
  f = await setupImagesFixture('badimg')
  image = await buildImage({layers: [await busyboxLayer(), filesLayer({'x.txt': 'x\n'})], gzip: true})
  good = join(f.dir, 'good.tar')
  await writeOciArchive(good, [{image, name: 'example.com/bad/busybox:1'}])
})

afterAll(async () => {
  await f?.cleanup()
})

/** Imports `archive` into a fresh namespace; expects one error line matching `message` and nothing left. */
async function rejects(archive: string, message: RegExp, args: string[] = []) {
  const ns = f.namespace('case')
  const result = await f.cli(ns, ['images', 'import', ...args, archive])
  expectOneLineError(result, message)
  expect(result.stdout).toBe('')
  expect(await f.state(ns)).toEqual(EMPTY_STATE)
  return result
}

describe('ctr images import: bad input', () => {
  it('a missing file, a directory', async () => {
    await rejects(join(f.dir, 'nope.tar'), /^ctr: cannot read archive .*nope\.tar: no such file$/m)
    await rejects(f.dir, /^ctr: cannot read archive .*: it is a directory/m)
  })

  it('an empty file, a text file, random bytes: not a tar archive', async () => {
    const empty = join(f.dir, 'empty.tar')
    await writeFile(empty, '')
    await rejects(empty, /archive .*empty\.tar is empty$/m)
    const text = join(f.dir, 'text.tar')
    await writeFile(text, 'this is not an archive\n')
    await rejects(text, /archive .*text\.tar is not a tar archive$/m)
    const random = join(f.dir, 'random.tar')
    await writeFile(random, Buffer.from(Array.from({length: 5000}, (_, i) => (i * 7919) % 251)))
    await rejects(random, /archive .*random\.tar is not a tar archive$/m)
  })

  it('a truncated archive, plain and gzip (after some blobs were written: they are gone too)', async () => {
    const cut = join(f.dir, 'cut.tar')
    await copyFile(good, cut)
    await truncate(cut, 900_000)
    await rejects(cut, /archive .*cut\.tar is truncated \(it ends inside blobs\/sha256\/[0-9a-f]{64}\)$/m)
    const gz = join(f.dir, 'cut.tar.gz')
    await writeOciArchive(gz, [{image, name: 'example.com/bad/busybox:1'}], {gzip: true})
    await truncate(gz, 500_000)
    await rejects(gz, /archive .*cut\.tar\.gz is (not valid gzip data|truncated)/m)
  })

  it('a tar that is not an image archive; an OCI layout without index.json; a bad oci-layout version', async () => {
    const plain = join(f.dir, 'plain.tar')
    await writeTar(plain, [{name: 'hello.txt', data: Buffer.from('hi')}])
    await rejects(plain, /archive .*plain\.tar is not an image archive: it has neither oci-layout nor manifest\.json$/m)
    const noIndex = join(f.dir, 'noindex.tar')
    await writeTar(noIndex, [{name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}')}])
    await rejects(noIndex, /is an OCI image layout without index\.json$/m)
    const version = join(f.dir, 'version.tar')
    await writeTar(version, [
      {name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"9"}')},
      {name: 'index.json', data: Buffer.from('{"manifests":[]}')},
    ])
    await rejects(version, /oci-layout in archive .*: unsupported OCI image layout version "9"/m)
  })

  it('a manifest naming a layer the archive lacks (OCI) and a docker manifest.json naming a missing layer', async () => {
    const missing = join(f.dir, 'missing.tar')
    await writeOciArchive(missing, [{image, name: 'example.com/bad/busybox:1'}], {omit: [image.layers[1].digest]})
    await rejects(
      missing,
      new RegExp(`image example.com/bad/busybox:1: layer 2 of manifest ${image.manifest.digest} ${image.layers[1].digest} is not in archive`),
    )
    const dockerImage = await buildImage({layers: [filesLayer({'a.txt': 'a'})], docker: true})
    const dockerMissing = join(f.dir, 'docker-missing.tar')
    await writeDockerArchive(dockerMissing, [{image: dockerImage, tags: ['bad:1']}], {omit: [dockerImage.layers[0].digest]})
    await rejects(dockerMissing, /manifest\.json names layer [0-9a-f]{64}\/layer\.tar, which the archive does not have$/m)
  })

  it('a blob whose content does not match its digest', async () => {
    const corrupt = join(f.dir, 'corrupt.tar')
    await writeOciArchive(corrupt, [{image, name: 'example.com/bad/busybox:1'}], {corrupt: image.layers[0].digest})
    await rejects(
      corrupt,
      new RegExp(
        `blobs/sha256/${image.layers[0].digest.slice(7)} in archive .* does not match its digest: expected ${image.layers[0].digest}, the data has sha256:`,
      ),
    )
  })

  it('an unknown platform, a platform the archive lacks, an archive that names no image', async () => {
    await rejects(good, /^ctr: invalid platform "nosuch": unknown operating system or architecture$/m, ['--platform', 'nosuch'])
    await rejects(good, /^ctr: image example.com\/bad\/busybox:1 has no manifest for linux\/arm64 \(it has linux\/amd64\)/m, ['--platform', 'linux/arm64'])
    const unnamed = join(f.dir, 'unnamed.tar')
    await writeOciArchive(unnamed, [{image}])
    await rejects(unnamed, /names no image .*give --index-name NAME$/m)
    // --base-name keeps only OCI ref names under it (io.containerd.image.name is taken as it is, as Go ctr does).
    const refNamed = join(f.dir, 'refnamed.tar')
    await writeOciArchive(refNamed, [{image, refName: 'example.com/x/y:1'}])
    await rejects(refNamed, /has no image named under --base-name other\/name$/m, ['--base-name', 'other/name'])
  })

  it('a snapshotter containerd does not have', async () => {
    await rejects(good, /^ctr: snapshotter "nosuch" is not loaded by this containerd$/m, ['--snapshotter', 'nosuch'])
  })
})

describe('ctr images import: interrupted', () => {
  it('SIGINT while the archive streams in: exit 130, no message, nothing left', async () => {
    // A big incompressible layer, fed through stdin half-way, so the import is surely mid-blob.
    const big = await buildImage({layers: [filesLayer({'big.bin': Buffer.from(Array.from({length: 8 * 1024 * 1024}, (_, i) => (i * 2654435761) >>> 24))})]})
    const archive = join(f.dir, 'big.tar')
    await writeOciArchive(archive, [{image: big, name: 'example.com/bad/big:1'}])
    const ns = f.namespace('sigint')
    const child = f.spawn(ns, ['images', 'import', '-'])
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdin!.on('error', () => undefined)
    const closed = new Promise<{code: number | null}>((resolve) => child.on('close', (code) => resolve({code})))
    const source = createReadStream(archive, {end: 4 * 1024 * 1024})
    source.pipe(child.stdin!, {end: false})
    await new Promise((resolve) => source.on('end', () => resolve(undefined)))
    // Wait until containerd holds an ingest of ours: the interrupt lands in the middle of a Content.Write.
    const deadline = Date.now() + 10_000
    while ((await f.state(ns)).ingests.length === 0 && Date.now() < deadline) await sleep(50)
    expect((await f.state(ns)).ingests).toHaveLength(1)
    child.kill('SIGINT')
    const {code} = await closed
    expect(code).toBe(130)
    expect(stderr).toBe('')
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  })

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while stdin is stalled (a pipe never written): exit %i at once, the lease deleted', async (signal, exitCode) => {
    const ns = f.namespace(`stalled-${signal}`)
    const child = f.spawn(ns, ['images', 'import', '-'])
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const closed = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) =>
      child.on('close', (code, sig) => resolve({code, signal: sig})),
    )
    // The lease is created before the first byte is read.
    const deadline = Date.now() + 10_000
    while ((await f.state(ns)).leases.length === 0 && Date.now() < deadline) await sleep(50)
    expect((await f.state(ns)).leases).toHaveLength(1)
    await sleep(1000)
    const t0 = Date.now()
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    const end = await closed
    clearTimeout(timer)
    const ms = Date.now() - t0
    expect(end, stderr).toEqual({code: exitCode, signal: null})
    expect(ms).toBeLessThan(2000)
    expect(stderr).toBe('')
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  })

  it('SIGINT while a layer is being unpacked: exit 130 and nothing left, or (if it won the race) a complete import', async () => {
    const layer = (seed: number) =>
      filesLayer({[`big${seed}.bin`]: Buffer.from(Array.from({length: 24 * 1024 * 1024}, (_, i) => ((i + seed) * 2654435761) >>> 24))})
    const big = await buildImage({layers: [layer(1), layer(2), layer(3)], gzip: true})
    const archive = join(f.dir, 'unpack.tar')
    await writeOciArchive(archive, [{image: big, name: 'example.com/bad/unpack:1'}])
    const ns = f.namespace('sigint-unpack')
    const child = f.spawn(ns, ['images', 'import', archive])
    const closed = new Promise<{code: number | null}>((resolve) => child.on('close', (code) => resolve({code})))
    let exited = false
    void closed.then(() => (exited = true))
    // An extraction snapshot (KEY "extract-... sha256:...", Active) shows the unpack is under way.
    const deadline = Date.now() + 20_000
    while (!exited && Date.now() < deadline && !(await f.rows(ns, ['snapshots', 'ls'])).some((row) => row[0].startsWith('extract-'))) await sleep(20)
    child.kill('SIGINT')
    const {code} = await closed
    if (code === 0) {
      expect((await f.state(ns)).images).toEqual(['example.com/bad/unpack:1'])
      expect((await f.state(ns)).leases).toEqual([])
    } else {
      expect(code).toBe(130)
      expect(await f.state(ns)).toEqual(EMPTY_STATE)
    }
  })
})
