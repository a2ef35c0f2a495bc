/**
 * `ctr images tag`, `export` (save), `inspect` (info) and `prune` against the real private containerd, with
 * Go ctr and skopeo as the other readers: a tagged image runs by its new name; an export imports back (ours
 * and Go's) to the same digest and skopeo reads it as oci-archive and docker-archive; inspect says what
 * skopeo says of the same archive; prune keeps what containers use; bad input is one line, exit 125, and
 * leaves no file.
 */
import {execFile} from 'node:child_process'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, multiPlatform, writeOciArchive} from '../helpers/image-archive'
import {runInPty} from '../helpers/pty'
import {CLI, cliEnv} from '../helpers/run-cli'
import {expectOneLineError} from './containers-fixture'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const run = promisify(execFile)
let f: ImagesFixture
let archive: string
let multi: string
const NAME = 'example.com/tagexp/app:1'
const MULTI = 'example.com/tagexp/multi:1'
const CONFIG = {Env: ['PATH=/bin', 'GREETING=hi'], Cmd: ['/bin/sh', '-c', 'echo $GREETING'], WorkingDir: '/', Labels: {team: 'web'}, StopSignal: 'SIGUSR1'}

beforeAll(async () => {
  f = await setupImagesFixture('tagexp')
  const base = await busyboxLayer()
  const image = await buildImage({layers: [base, filesLayer({'app.txt': 'app\n'})], gzip: true, config: CONFIG})
  archive = join(f.dir, 'app.tar')
  await writeOciArchive(archive, [{image, name: NAME}])
  const arm = await buildImage({layers: [filesLayer({'arm.txt': 'arm\n'})], gzip: true, platform: {os: 'linux', architecture: 'arm64'}})
  multi = join(f.dir, 'multi.tar')
  await writeOciArchive(multi, [{image: multiPlatform([image, arm]), name: MULTI}])
})

afterAll(async () => {
  await f?.cleanup()
})

async function imported(tag: string, file = archive, extra: string[] = []): Promise<string> {
  const ns = f.namespace(tag)
  const result = await f.cli(ns, ['images', 'import', ...extra, file])
  expect(result.code, result.stderr).toBe(0)
  return ns
}

/** name → target digest, as Go ctr lists the namespace's images. */
async function goImages(ns: string): Promise<Record<string, string>> {
  return Object.fromEntries((await f.rows(ns, ['images', 'ls'])).map((r) => [r[0], r[2]]))
}

async function skopeo(args: string[]): Promise<any> {
  return JSON.parse((await run('skopeo', args, {encoding: 'utf8'})).stdout)
}

describe('ctr images tag', () => {
  it('names the same target (short names normalized); the container runs by the new name', async () => {
    const ns = await imported('tag')
    const tagged = await f.cli(ns, ['images', 'tag', NAME, 'short', 'example.com/other/app:2'])
    expect(tagged.code, tagged.stderr).toBe(0)
    expect(tagged.stdout).toBe('docker.io/library/short:latest\nexample.com/other/app:2\n')
    const images = await goImages(ns)
    expect(images['docker.io/library/short:latest']).toBe(images[NAME])
    expect(images['example.com/other/app:2']).toBe(images[NAME])
    // Go ctr's hidden spelling, and the short source name found through its normalized form.
    expect((await f.cli(ns, ['i', 'tag', 'short', 'example.com/third/app:3'])).code).toBe(0)
    const started = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'tagged-1', 'example.com/other/app:2'])
    expect(started.code, started.stderr).toBe(0)
    expect(started.stdout).toBe('hi\n')
  })

  it('an existing TARGET: refused without --force (nothing made), replaced with it', async () => {
    const ns = await imported('tag-force')
    expect((await f.cli(ns, ['images', 'import', multi])).code).toBe(0)
    const before = await goImages(ns)
    const refused = await f.cli(ns, ['images', 'tag', NAME, 'example.com/new/one:1', MULTI])
    expectOneLineError(refused, /image "example\.com\/tagexp\/multi:1" already exists.*--force/)
    expect(await goImages(ns)).toEqual(before)
    const forced = await f.cli(ns, ['images', 'tag', '--force', NAME, MULTI])
    expect(forced.code, forced.stderr).toBe(0)
    expect((await goImages(ns))[MULTI]).toBe(before[NAME])
  })

  it('bad input: missing source, invalid target, missing target: one line, exit 125', async () => {
    const ns = await imported('tag-bad')
    expectOneLineError(await f.cli(ns, ['images', 'tag', 'example.com/none:1', 'x:1']), /image "example\.com\/none:1" not found in namespace/)
    expectOneLineError(await f.cli(ns, ['images', 'tag', NAME, 'Bad/Name']), /invalid image reference "Bad\/Name"/)
    expectOneLineError(await f.cli(ns, ['images', 'tag', NAME]), /missing argument TARGET/)
    expect(Object.keys(await goImages(ns))).toEqual([NAME])
  })
})

describe('ctr images export', () => {
  it('export, rm, import: the same digest; Go ctr imports it too; the layout is Go ctr 1.6 export’s', async () => {
    const ns = await imported('exp')
    const digest = (await goImages(ns))[NAME]
    const out = join(f.dir, 'exp.tar')
    const exported = await f.cli(ns, ['images', 'save', out, NAME])
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stdout).toBe('')
    expect(await readdir(f.dir)).not.toContainEqual(expect.stringMatching(/ctr-export/))
    // The same entries, in the same order, with the same JSON as Go's own export of the image.
    const goOut = join(f.dir, 'exp-go.tar')
    expect((await f.go(ns, ['images', 'export', goOut, NAME])).code).toBe(0)
    const list = async (file: string) => (await run('tar', ['-tvf', file], {encoding: 'utf8'})).stdout
    expect(await list(out)).toBe(await list(goOut))
    for (const entry of ['index.json', 'manifest.json', 'oci-layout'])
      expect((await run('tar', ['-xOf', out, entry], {encoding: 'utf8'})).stdout).toBe((await run('tar', ['-xOf', goOut, entry], {encoding: 'utf8'})).stdout)

    expect((await f.cli(ns, ['images', 'rm', '--sync', NAME])).code).toBe(0)
    const back = await f.cli(ns, ['images', 'import', out])
    expect(back.code, back.stderr).toBe(0)
    expect(back.stdout).toBe(`${NAME}\n`)
    expect((await goImages(ns))[NAME]).toBe(digest)
    const goNs = f.namespace('exp-go')
    expect((await f.go(goNs, ['images', 'import', out])).code).toBe(0)
    expect((await goImages(goNs))[NAME]).toBe(digest)
  })

  it('skopeo reads it as oci-archive and as docker-archive', async () => {
    const ns = await imported('exp-skopeo')
    const out = join(f.dir, 'skopeo.tar')
    expect((await f.cli(ns, ['images', 'export', out, NAME])).code).toBe(0)
    const digest = (await goImages(ns))[NAME]
    const oci = await skopeo(['inspect', `oci-archive:${out}`])
    expect(oci.Digest).toBe(digest)
    const docker = await skopeo(['inspect', `docker-archive:${out}`])
    // docker-archive names layers by their uncompressed digests (the files' own).
    const config = await skopeo(['inspect', '--config', `oci-archive:${out}`])
    expect(docker.Layers).toEqual(config.rootfs.diff_ids)
    expect(docker.Env).toEqual(CONFIG.Env)
  })

  it('this platform by default; --platform; --all-platforms', async () => {
    const ns = await imported('exp-platform', multi, ['--all-platforms'])
    const blobs = async (file: string) => (await run('tar', ['-tf', file], {encoding: 'utf8'})).stdout.split('\n').filter((l) => /^blobs\/sha256\/./.test(l))
    const manifestJson = async (file: string) => JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'], {encoding: 'utf8'})).stdout)
    const host = join(f.dir, 'host.tar')
    const all = join(f.dir, 'all.tar')
    const arm = join(f.dir, 'arm.tar')
    expect((await f.cli(ns, ['images', 'export', host, MULTI])).code).toBe(0)
    expect((await f.cli(ns, ['images', 'export', '--all-platforms', all, MULTI])).code).toBe(0)
    expect((await f.cli(ns, ['images', 'export', '--platform', 'linux/arm64', arm, MULTI])).code).toBe(0)
    // index + (manifest, config, 2 layers) for amd64; + (manifest, config, 1 layer) for arm64.
    expect((await blobs(host)).length).toBe(5)
    expect((await blobs(all)).length).toBe(8)
    expect((await blobs(arm)).length).toBe(4)
    expect((await manifestJson(host))[0].Layers.length).toBe(2)
    expect((await manifestJson(arm))[0].Layers.length).toBe(1)
    expect((await manifestJson(arm))[0].RepoTags).toEqual(['example.com/tagexp/multi:1'])
    const none = await f.cli(ns, ['images', 'export', '--platform', 'linux/s390x', join(f.dir, 'none.tar'), MULTI])
    expectOneLineError(none, /has no manifest for linux\/s390x \(it has linux\/amd64, linux\/arm64\)/)
  })

  it('bad input: one line, exit 125, no file left (and an existing FILE untouched)', async () => {
    const ns = await imported('exp-bad')
    const before = new Set(await readdir(f.dir))
    expectOneLineError(await f.cli(ns, ['images', 'export', join(f.dir, 'missing.tar'), 'example.com/none:1']), /image "example\.com\/none:1" not found/)
    expectOneLineError(await f.cli(ns, ['images', 'export', join(f.dir, 'no-such-dir', 'x.tar'), NAME]), /directory .*no-such-dir does not exist/)
    expectOneLineError(await f.cli(ns, ['images', 'export', f.dir, NAME]), /is a directory/)
    const kept = join(f.dir, 'kept.tar')
    await writeFile(kept, 'old\n')
    before.add('kept.tar')
    expectOneLineError(await f.cli(ns, ['images', 'export', kept, NAME, 'example.com/none:1']), /not found/)
    expect(await readFile(kept, 'utf8')).toBe('old\n')
    expect(new Set(await readdir(f.dir))).toEqual(before)
  })

  it('stdout a terminal is refused; a pipe gets the archive', async () => {
    const ns = await imported('exp-tty')
    const tty = await runInPty([process.execPath, CLI, '-n', ns, 'images', 'export', '-', NAME], {env: cliEnv({address: f.address, namespace: ns})})
    expect(tty.code).toBe(125)
    expect(tty.output.trim()).toMatch(/^ctr: refusing to write an image archive to a terminal/)
    const piped = await f.cli(ns, ['images', 'export', '-', NAME])
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout.startsWith('blobs/')).toBe(true)
    expect(piped.stdout).toContain('manifest.json')
  })

  it('Ctrl-C during the export: exit 130, no partial file', async () => {
    const ns = f.namespace('exp-int')
    const big = join(f.dir, 'big.tar')
    await run(process.execPath, [join(__dirname, '..', '..', 'bench', 'make-image-archive.mjs'), big, 'example.com/tagexp/big:1', '96', '2'])
    expect((await f.cli(ns, ['images', 'import', '--no-unpack', big])).code).toBe(0)
    const dir = join(f.dir, 'int')
    await run('mkdir', [dir])
    const child = f.spawn(ns, ['images', 'export', join(dir, 'big-out.tar'), 'example.com/tagexp/big:1'])
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    // Interrupted once the temporary has some data in it.
    for (let i = 0; i < 500; i++) {
      const names = await readdir(dir)
      const size =
        names.length === 1
          ? await stat(join(dir, names[0])).then(
              (s) => s.size,
              () => 0,
            )
          : 0
      if (size > 1024 * 1024) break
      await new Promise((r) => setTimeout(r, 5))
    }
    expect((await readdir(dir))[0]).toMatch(/^\.big-out\.tar\.ctr-export-/)
    child.kill('SIGINT')
    expect(await exited, stderr).toBe(130)
    expect(await readdir(dir)).toEqual([])
  })
})

describe('ctr images inspect', () => {
  it('says what skopeo says of the same image; unpacked or not', async () => {
    const ns = await imported('inspect')
    const json = await f.cli(ns, ['images', 'info', '--json', NAME])
    expect(json.code, json.stderr).toBe(0)
    const [info] = JSON.parse(json.stdout)
    const sk = await skopeo(['inspect', `oci-archive:${archive}`])
    const skConfig = await skopeo(['inspect', '--config', `oci-archive:${archive}`])
    expect(info.manifest.descriptor.digest).toBe(sk.Digest)
    expect(info.layers.map((l: {digest: string}) => l.digest)).toEqual(sk.Layers)
    const raw = await skopeo(['inspect', '--raw', `oci-archive:${archive}`])
    expect(info.layers.map((l: {size: number}) => l.size)).toEqual(raw.layers.map((l: {size: number}) => l.size))
    expect(info.layers.map((l: {diffId: string}) => l.diffId)).toEqual(skConfig.rootfs.diff_ids)
    expect(info.config.Env).toEqual(sk.Env)
    expect(info.config.Labels).toEqual(sk.Labels)
    expect(info.platform).toBe(`${sk.Os}/${sk.Architecture}`)
    expect(info.config.Cmd).toEqual(skConfig.config.Cmd)
    expect(info.config.StopSignal).toBe('SIGUSR1')
    expect(info.unpacked).toMatchObject({snapshotter: 'overlayfs', unpacked: true})

    const human = await f.cli(ns, ['images', 'inspect', NAME])
    expect(human.stdout).toMatch(new RegExp(`^Manifest: +${sk.Digest}$`, 'm'))
    expect(human.stdout).toMatch(/^Unpacked: +yes \(overlayfs\)$/m)

    const bare = await imported('inspect-bare', archive, ['--no-unpack'])
    const [notUnpacked] = JSON.parse((await f.cli(bare, ['images', 'inspect', '--json', NAME])).stdout)
    expect(notUnpacked.unpacked.unpacked).toBe(false)
    const missing = await f.cli(bare, ['images', 'inspect', NAME, 'example.com/none:1'])
    expect(missing.code).toBe(125)
    expect(missing.stderr).toMatch(/^ctr: image "example\.com\/none:1" not found[^\n]*\n$/)
  })
})

describe('ctr images prune', () => {
  it('dangling by default, every unused image with --all; an image a container uses stays', async () => {
    const ns = await imported('prune')
    const digest = (await goImages(ns))[NAME]
    const dangling = `example.com/tagexp/app@${digest}`
    expect((await f.cli(ns, ['images', 'tag', NAME, 'example.com/tagexp/used:1', 'example.com/tagexp/spare:1'])).code).toBe(0)
    expect((await f.go(ns, ['images', 'tag', NAME, dangling])).code).toBe(0)
    expect((await f.go(ns, ['containers', 'create', 'example.com/tagexp/used:1', 'user-1'])).code).toBe(0)

    const first = await f.cli(ns, ['images', 'prune'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe(`${dangling}\n`)
    expect(Object.keys(await goImages(ns)).sort()).toEqual([NAME, 'example.com/tagexp/spare:1', 'example.com/tagexp/used:1'])

    const all = await f.cli(ns, ['images', 'prune', '--all', '--json'])
    expect(all.code, all.stderr).toBe(0)
    expect(JSON.parse(all.stdout).map((i: {name: string}) => i.name)).toEqual([NAME, 'example.com/tagexp/spare:1'])
    expect(Object.keys(await goImages(ns))).toEqual(['example.com/tagexp/used:1'])
    expect((await f.go(ns, ['containers', 'rm', 'user-1'])).code).toBe(0)
  })

  it('on a terminal without --force it asks; no is no', async () => {
    const ns = await imported('prune-tty')
    const env = cliEnv({address: f.address, namespace: ns})
    const no = await runInPty([process.execPath, CLI, 'images', 'prune', '--all'], {env, steps: [{wait: 'continue\\? \\[y/N\\]', write: 'n\r'}]})
    expect(no.code).toBe(0)
    expect(no.output).toMatch(/WARNING! This will remove all images without at least one container/)
    expect(Object.keys(await goImages(ns))).toEqual([NAME])
    const yes = await runInPty([process.execPath, CLI, 'images', 'prune', '--all'], {env, steps: [{wait: 'continue\\? \\[y/N\\]', write: 'y\r'}]})
    expect(yes.code).toBe(0)
    expect(yes.output).toContain(NAME)
    expect(Object.keys(await goImages(ns))).toEqual([])
  })
})
