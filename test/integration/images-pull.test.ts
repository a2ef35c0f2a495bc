/**
 * `ctr images pull` against a private docker-registry and the suite's containerd, with Go ctr pulling the
 * same refs into a namespace beside ours: same image record (manifest digest), same snapshot chain, and a
 * container Go ctr runs from our image prints what the image holds. Faults: unknown repo/tag, wrong
 * password, refused port, malformed ref, a tampered manifest, the registry dying mid-layer (then a retry
 * works); each one line, exit 125, nothing left.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {errorShape} from '../helpers/leftovers'
import {type PrivateRegistry, startRegistry} from '../helpers/registry'
import {EMPTY_STATE, type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let registry: PrivateRegistry
let secure: PrivateRegistry
let big: string
let closedPort = 0
const AUTH = {user: 'alice', password: 'pw-Secr3t-42'}

beforeAll(async () => {
  f = await setupImagesFixture('pull')
  const layers = [await busyboxLayer(), filesLayer({'etc/': {dir: true}, 'etc/hello': 'hello from the registry\n'})]
  const image = await buildImage({layers, gzip: true, config: {Env: ['PATH=/bin'], Cmd: ['cat', '/etc/hello']}})
  const archive = join(f.dir, 'busybox.tar')
  await writeOciArchive(archive, [{image, name: 'x'}])
  registry = await startRegistry()
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
  secure = await startRegistry({auth: AUTH})
  await registry.put(archive, 'test/busybox:1')
  await secure.put(archive, 'test/busybox:1')
  // ~24 MiB of random bytes in one layer: long enough to kill the registry while it is sent.
  const {randomBytes} = await import('node:crypto')
  const bigImage = await buildImage({
    layers: [await busyboxLayer(), filesLayer({'big.bin': randomBytes(24 * 1024 * 1024)})],
    gzip: true,
    config: {Cmd: ['true']},
  })
  big = join(f.dir, 'big.tar')
  await writeOciArchive(big, [{image: bigImage, name: 'x'}])
  await registry.put(big, 'test/big:1')
  // Another of the same shape, for the unpack-while-downloading test: no other test's pull may hold its blobs
  // (a blob in any namespace is not downloaded again).
  const overlapImage = await buildImage({
    layers: [filesLayer({'small.txt': 'small\n'}), filesLayer({'big.bin': randomBytes(24 * 1024 * 1024)})],
    gzip: true,
    config: {Cmd: ['true']},
  })
  const overlap = join(f.dir, 'overlap.tar')
  await writeOciArchive(overlap, [{image: overlapImage, name: 'x'}])
  await registry.put(overlap, 'test/overlap:1')
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  await secure?.stop()
  await f?.cleanup()
})

async function store(namespace: string) {
  const images = (await f.rows(namespace, ['images', 'ls'])).map((r) => r.slice(0, 5))
  const snapshots = await f.rows(namespace, ['snapshots', 'ls'])
  return {images, snapshots}
}

describe('images pull', () => {
  it('pulls what Go ctr pulls: same manifest digest, same snapshot chain; Go ctr runs our image', async () => {
    const ours = f.namespace('ours')
    const go = f.namespace('go')
    const ref = `${registry.host}/test/busybox:1`
    const result = await f.cli(ours, ['images', 'pull', '--plain-http', ref])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`${ref}\n`)
    expect(result.stderr).toMatch(/^pulled sha256:[a-f0-9]{64}: 4 of 4 blob\(s\) fetched/)
    const reference = await f.go(go, ['images', 'pull', '--plain-http', ref])
    expect(reference.code, reference.stderr).toBe(0)
    await f.gc()
    const [a, b] = [await store(ours), await store(go)]
    expect(a.images).toEqual(b.images)
    expect(a.images[0][0]).toBe(ref)
    expect(a.snapshots).toEqual(b.snapshots)
    expect(a.snapshots).toHaveLength(2)
    expect((await f.state(ours)).leases).toEqual([])
    const run = await f.go(ours, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), ref, 'pull-run-1'])
    const runGo = await f.go(go, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), ref, 'pull-run-2'])
    expect(run.stdout).toBe('hello from the registry\n')
    expect(run.stdout).toBe(runGo.stdout)

    // Again: nothing is fetched but the tag's manifest; --json prints only the result.
    const again = await f.cli(ours, ['images', 'pull', '--plain-http', '--json', ref])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toBe('')
    const json = JSON.parse(again.stdout)
    expect(json.target.digest).toBe(a.images[0][2])
    expect(json.fetched.blobs).toBe(1) // the manifest the tag names; config and layers are in the store
    expect(json.created).toBe(false)

    // By digest.
    const byDigest = f.namespace('digest')
    const d = await f.cli(byDigest, ['images', 'pull', '--plain-http', `${registry.host}/test/busybox@${a.images[0][2]}`])
    expect(d.code, d.stderr).toBe(0)
    expect(d.stdout.trim()).toBe(`${registry.host}/test/busybox@${a.images[0][2]}`)
  }, 120_000)

  it('basic auth: the right password (from --user and from stdin) works, a wrong one is one line, unauthorized, nothing left', async () => {
    const ref = `${secure.host}/test/busybox:1`
    const ns = f.namespace('auth')
    const wrong = await f.cli(ns, ['images', 'pull', '--plain-http', '--user', `${AUTH.user}:not-it`, ref])
    expect(errorShape(wrong)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(wrong.stderr).toMatch(/unauthorized/)
    expect(wrong.stderr).not.toContain('not-it')
    await f.gc()
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
    const none = await f.cli(ns, ['images', 'pull', '--plain-http', ref], {env: {HOME: f.dir, DOCKER_CONFIG: join(f.dir, 'no-docker')}})
    expect(none.stderr).toMatch(/^ctr: .*unauthorized: credentials required/)
    const debug = await f.cli(ns, ['images', 'pull', '--debug', '--plain-http', '--user', 'alice', ref], {input: 'also-wrong\n'})
    expect(debug.code).toBe(125)
    expect(debug.stderr).not.toContain('also-wrong')
    const right = await f.cli(ns, ['images', 'pull', '--plain-http', '--user', AUTH.user, ref], {input: `${AUTH.password}\n`})
    expect(right.code, right.stderr).toBe(0)
    expect(right.stderr).not.toContain(AUTH.password)
    // docker's config.json
    const cfg = join(f.dir, 'docker')
    await import('node:fs/promises').then((fs) => fs.mkdir(cfg, {recursive: true}))
    await writeFile(join(cfg, 'config.json'), JSON.stringify({auths: {[secure.host]: {auth: Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}}}))
    const ns2 = f.namespace('auth-config')
    const fromConfig = await f.cli(ns2, ['images', 'pull', '--plain-http', ref], {env: {DOCKER_CONFIG: cfg}})
    expect(fromConfig.code, fromConfig.stderr).toBe(0)
  }, 120_000)

  it.each([
    ['an unknown repository', (h: string) => `${h}/test/nothing:1`, /not found/],
    ['an unknown tag', (h: string) => `${h}/test/busybox:nope`, /tag nope not found/],
    ['a malformed reference', () => 'Bad//Ref::', /invalid image reference/],
    ['a refused port', () => `127.0.0.1:${closedPort}/test/busybox:1`, /connection refused/],
  ])('%s: one line, exit 125, nothing left', async (_what, ref, message) => {
    const ns = f.namespace('bad')
    const result = await f.cli(ns, ['images', 'pull', '--plain-http', ref(registry.host)])
    expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(result.stderr).toMatch(message)
    await f.gc()
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  })

  it('https to an http registry: one line naming --plain-http', async () => {
    const result = await f.cli(f.namespace('tls'), ['images', 'pull', `${registry.host}/test/busybox:1`])
    expect(errorShape(result).oneLine).toBe(true)
    expect(result.stderr).toMatch(/--plain-http/)
  })

  it('a manifest whose digest does not match: one line, nothing left', async () => {
    const tampered = await startRegistry()
    try {
      await tampered.put(join(f.dir, 'busybox.tar'), 'test/busybox:1')
      const digest = (await tampered.inspectDigest('test/busybox:1')).slice(7)
      const file = join(tampered.storage, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data')
      await writeFile(file, `${await readFile(file, 'utf8')} `)
      const ns = f.namespace('mismatch')
      const result = await f.cli(ns, ['images', 'pull', '--plain-http', `${tampered.host}/test/busybox:1`])
      expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(result.stderr).toMatch(/does not match its digest/)
      await f.gc()
      expect(await f.state(ns)).toEqual(EMPTY_STATE)
    } finally {
      await tampered.stop()
    }
  }, 60_000)

  it('a layer whose bytes do not match its digest (checked by containerd at COMMIT): one line, no ingest left', async () => {
    const tampered = await startRegistry()
    try {
      // Its own layer: one another test pulled is in containerd's shared content, and would not be downloaded.
      const {randomBytes} = await import('node:crypto')
      const archive = join(f.dir, 'mismatch.tar')
      const image = await buildImage({layers: [await busyboxLayer(), filesLayer({'own.bin': randomBytes(100_000)})], gzip: true, config: {Cmd: ['true']}})
      await writeOciArchive(archive, [{image, name: 'x'}])
      await tampered.put(archive, 'test/busybox:1')
      const blob = (digest: string) => join(tampered.storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data')
      const manifest = JSON.parse(await readFile(blob(await tampered.inspectDigest('test/busybox:1')), 'utf8')) as {layers: Array<{digest: string}>}
      const layer = manifest.layers[1].digest
      // Same size, one byte changed.
      const bytes = await readFile(blob(layer))
      bytes[bytes.length >> 1] ^= 0xff
      await writeFile(blob(layer), bytes)
      const ns = f.namespace('layer-mismatch')
      const result = await f.cli(ns, ['images', 'pull', '--plain-http', '--max-concurrent-downloads', '1', `${tampered.host}/test/busybox:1`])
      expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(result.stderr).toMatch(
        new RegExp(`^ctr: layer ${layer} from ${tampered.host} does not match its digest: expected ${layer}, the data has sha256:[0-9a-f]{64}\\n$`),
      )
      await f.gc()
      expect(await f.state(ns)).toEqual(EMPTY_STATE)
    } finally {
      await tampered.stop()
    }
  }, 60_000)

  it("a blob another namespace holds is not downloaded again (containerd's shared content), only committed here", async () => {
    const [first, second] = [f.namespace('shared-a'), f.namespace('shared-b')]
    const ref = `${registry.host}/test/busybox:1`
    expect((await f.cli(first, ['images', 'pull', '--plain-http', ref])).code).toBe(0)
    const again = await f.cli(second, ['images', 'pull', '--plain-http', '--json', ref])
    expect(again.code, again.stderr).toBe(0)
    const json = JSON.parse(again.stdout) as {fetched: {blobs: number; bytes: number}; blobs: number; unpacked: {applied: number}}
    expect(json.fetched.blobs).toBe(1) // the manifest the tag names, to resolve it; no layer, no config
    expect(json.fetched.bytes).toBeLessThan(4096)
    expect(json.unpacked.applied).toBe(2)
    // the second namespace's records are whole: labels as in the first, and the image runs after the first is gone
    const labels = async (ns: string) => (await f.rows(ns, ['content', 'ls'])).map((r) => [r[0], (r.at(-1) ?? '').split(',').sort().join(',')]).sort()
    expect(await labels(second)).toEqual(await labels(first))
    expect((await f.go(first, ['images', 'rm', '--sync', ref])).code).toBe(0)
    const run = await f.go(second, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), ref, 'shared-run'])
    expect(run.stdout, run.stderr).toBe('hello from the registry\n')
  }, 120_000)

  it('two pulls at once into a namespace, of an image another namespace holds: both succeed, the image is whole', async () => {
    const ns = f.namespace('shared-twice')
    const ref = `${registry.host}/test/busybox:1`
    const both = await Promise.all([1, 2].map(() => f.cli(ns, ['images', 'pull', '--plain-http', ref])))
    for (const r of both) expect(r.code, r.stderr).toBe(0)
    await f.gc()
    const run = await f.go(ns, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), ref, 'shared-twice-run'])
    expect(run.stdout, run.stderr).toBe('hello from the registry\n')
    expect((await f.state(ns)).leases).toEqual([])
  }, 120_000)

  it('an unknown snapshotter stops the pull (the unpack failing stops the downloads): one line, nothing left', async () => {
    const ns = f.namespace('bad-snapshotter')
    const result = await f.cli(ns, [
      'images',
      'pull',
      '--plain-http',
      '--max-concurrent-downloads',
      '1',
      '--snapshotter',
      'nosuch',
      `${registry.host}/test/overlap:1`,
    ])
    expect(result.code).toBe(125)
    expect(result.stderr).toMatch(/^ctr: snapshotter "nosuch" is not loaded by this containerd\n$/)
    await f.gc()
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
  }, 120_000)

  it('applies each layer as soon as it is in: layer 1 unpacked while the big layer 2 still downloads (library)', async () => {
    type Library = typeof import('../../src/index')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require(join(__dirname, '..', '..', 'dist', 'index.js')) as Library
    const ns = f.namespace('overlap')
    const client = new lib.ContainerdClient({address: f.address, namespace: ns})
    const events: string[] = []
    try {
      const pulled = await lib.pullImage(client, {
        ref: `${registry.host}/test/overlap:1`,
        plainHttp: true,
        maxConcurrentDownloads: 1,
        onProgress: (e) => {
          if (e.phase === 'unpack') events.push(`unpack ${e.layer}`)
          else if (e.phase === 'blob' && e.kind === 'layer' && e.state === 'done') events.push(`fetched ${e.size > 10 * 1024 * 1024 ? 'big' : 'small'}`)
        },
      })
      expect(pulled.unpacked?.applied).toBe(2)
    } finally {
      client.close()
    }
    // 'unpack i' is reported when layer i is in and being applied: layer 0 before the big layer is in
    expect([...events].sort()).toEqual(['fetched big', 'fetched small', 'unpack 0', 'unpack 1', 'unpack 2'])
    expect(events.indexOf('unpack 0'), events.join(', ')).toBeLessThan(events.indexOf('fetched big'))
    expect(events.indexOf('fetched small')).toBeLessThan(events.indexOf('unpack 0'))
  }, 120_000)

  it('the registry dying mid-layer: one line, nothing left; a retry after it is back works', async () => {
    const ns = f.namespace('dies')
    const child = f.spawn(ns, ['images', 'pull', '--plain-http', '--max-concurrent-downloads', '1', `${registry.host}/test/big:1`])
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    // Kill it once the big layer's ingest is under way.
    for (let i = 0; i < 200; i++) {
      const active = await f.rows(ns, ['content', 'active']).catch(() => [])
      if (active.some((r) => Number(r[1]?.replace(/\D/g, '')) > 0)) break
      await new Promise((r) => setTimeout(r, 20))
    }
    registry.kill()
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code).toBe(125)
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(stderr).toMatch(/^ctr: registry 127\.0\.0\.1:\d+: /)
    await f.gc()
    expect(await f.state(ns)).toEqual(EMPTY_STATE)
    await registry.restart()
    const retry = await f.cli(ns, ['images', 'pull', '--plain-http', `${registry.host}/test/big:1`])
    expect(retry.code, retry.stderr).toBe(0)
  }, 120_000)
})
