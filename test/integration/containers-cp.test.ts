/**
 * `ctr containers cp` against the real private containerd: both ways on a running image container (read
 * back with exec) and on a stopped one (through its snapshot, mounted by ctr: nothing stays mounted under
 * /run/ctr/roots), `-` both ways as tar streams, symlinks in the container that point out of it (absolute to a
 * host sentinel, `../../..`, `/etc`) resolved inside its root for reads and writes, bad input (one line, 125,
 * nothing mounted) and Ctrl-C while a stopped container's snapshot is open.
 */
import {execFileSync} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {Readable} from 'node:stream'

import * as tar from 'tar-stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {runCli, spawnCli} from '../helpers/run-cli'
import {expectOneLineError} from './containers-fixture'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const NAME = 'docker.io/library/cptest:1'
const MOUNT_DIR = '/run/ctr/roots'
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'

let f: ImagesFixture
let ns: string
/** Host directory with the sentinel file a symlink in the container names. */
let host: string
let sentinel: string
const cli = (args: string[], input?: string) => f.cli(ns, ['containers', 'cp', ...args], input === undefined ? {} : {input})
const exec = (id: string, ...args: string[]) => f.cli(ns, ['containers', 'exec', '--id', id, '-a', '--', ...args])

/** Mount points under /run/ctr/roots in this mount namespace (ctr's). */
async function mountsLeft(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point?.startsWith(`${MOUNT_DIR}/`))
}

async function dirsLeft(): Promise<string[]> {
  return readdir(MOUNT_DIR).catch(() => [])
}

/** Entries of a tar stream: name, type, mode, uid, and the text of files. */
async function listTar(data: Buffer): Promise<Array<{name: string; type: string; mode: number; uid: number; text?: string; linkname?: string}>> {
  const out: Array<{name: string; type: string; mode: number; uid: number; text?: string; linkname?: string}> = []
  const extract = tar.extract()
  Readable.from([data]).pipe(extract)
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    const {name, type, mode, uid, linkname} = entry.header
    out.push({name, type, mode, uid, ...(type === 'file' ? {text: Buffer.concat(chunks).toString()} : {}), ...(linkname ? {linkname} : {})})
  }
  return out
}

/** A tar stream of these entries. */
async function tarOf(entries: Array<Partial<tar.Header> & {name: string; data?: string}>): Promise<Buffer> {
  const pack = tar.pack()
  for (const {data, ...header} of entries) pack.entry(header, data ?? '')
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The CLI's raw stdout (a tar stream) and its stderr. */
function cliBytes(args: string[], stdin?: Buffer): Promise<{code: number | null; stdout: Buffer; stderr: string}> {
  const child = spawnCli(['containers', 'cp', ...args], {address: f.address, namespace: ns})
  const chunks: Buffer[] = []
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin!.on('error', () => undefined)
  child.stdin!.end(stdin ?? Buffer.alloc(0))
  return new Promise((resolve) => child.on('close', (code) => resolve({code, stdout: Buffer.concat(chunks), stderr})))
}

beforeAll(async () => {
  f = await setupImagesFixture('cp')
  ns = f.namespace('main')
  host = await mkdtemp(join(tmpdir(), 'ctr-it-cp-host-'))
  await chmod(host, 0o755)
  sentinel = join(host, 'sentinel')
  await writeFile(sentinel, 'HOST SENTINEL\n')
  const image = await buildImage({
    layers: [
      await busyboxLayer(),
      filesLayer({
        'data/': {dir: true},
        'data/hello.txt': 'hello from the image\n',
        'data/sub/': {dir: true},
        'data/sub/deep.txt': 'deep\n',
        'data/link': {link: 'hello.txt'},
        // Out of the root, if they were followed on the host.
        'abs-sentinel': {link: sentinel},
        'rel-sentinel': {link: `../../../../../../..${sentinel}`},
        'abs-host-dir': {link: host},
        up: {link: '../../..'},
        'etc-link': {link: '/etc'},
      }),
    ],
    config: {Env: ['PATH=/bin'], Cmd: ['sleep', '100000']},
  })
  const archive = join(f.dir, 'image.tar')
  await writeOciArchive(archive, [{image, name: NAME}])
  expect((await f.cli(ns, ['images', 'import', archive])).code).toBe(0)
  const running = await f.cli(ns, ['containers', 'start', '--no-log', 'run1', NAME])
  expect(running.code, running.stderr).toBe(0)
  const stopped = await f.cli(ns, ['containers', 'start', '-a', 'stop1', NAME, 'true'])
  expect(stopped.code, stopped.stderr).toBe(0)
}, 60_000)

afterAll(async () => {
  if (f) {
    for (const id of ['run1', 'stop1']) await f.cli(ns, ['containers', 'delete', '--force', id])
    await f.cleanup()
  }
  if (host) await rm(host, {recursive: true, force: true})
})

describe('ctr containers cp, running container', () => {
  it('copies a host file in (read back with exec) and a directory out, keeping modes and mtimes', async () => {
    const file = join(host, 'in.txt')
    await writeFile(file, 'from the host\n')
    await chmod(file, 0o640)
    expect(await cli([file, 'run1:/tmp/in.txt'])).toMatchObject({code: 0, stderr: ''})
    expect((await exec('run1', 'cat', '/tmp/in.txt')).stdout).toBe('from the host\n')
    const listed = (await exec('run1', 'ls', '-ln', '/tmp/in.txt')).stdout
    expect(listed).toMatch(/^-rw-r----- +1 0 +0 /)

    // Into an existing directory, under its own name; then out again as a directory that does not exist.
    await mkdir(join(host, 'tree'))
    await writeFile(join(host, 'tree', 'a.txt'), 'a\n')
    await utimes(join(host, 'tree', 'a.txt'), 1_000_000, 1_000_000)
    expect(await cli([join(host, 'tree'), 'run1:/tmp'])).toMatchObject({code: 0, stderr: ''})
    expect((await exec('run1', 'cat', '/tmp/tree/a.txt')).stdout).toBe('a\n')

    const out = join(host, 'data-out')
    expect(await cli(['run1:/data', out])).toMatchObject({code: 0, stderr: ''})
    expect(await readFile(join(out, 'hello.txt'), 'utf8')).toBe('hello from the image\n')
    expect(await readFile(join(out, 'sub', 'deep.txt'), 'utf8')).toBe('deep\n')
    expect((await stat(join(out, 'hello.txt'))).mode & 0o777).toBe(0o644)
    // The layer's mtime (0) kept.
    expect((await stat(join(out, 'hello.txt'))).mtimeMs).toBe(0)
    const {readlink} = await import('node:fs/promises')
    expect(await readlink(join(out, 'link'))).toBe('hello.txt')

    // SRC/. into an existing directory: only what it holds.
    const contents = join(host, 'contents')
    await mkdir(contents)
    expect(await cli(['run1:/data/.', contents])).toMatchObject({code: 0})
    expect((await readdir(contents)).sort()).toEqual(['hello.txt', 'link', 'sub'])
  })

  it('- writes a tar stream of SRC; - unpacks one from stdin (owners kept with -a)', async () => {
    const out = await cliBytes(['run1:/data', '-'])
    expect(out.code, out.stderr).toBe(0)
    const entries = await listTar(out.stdout)
    expect(entries.map((e) => e.name)).toEqual(['data/', 'data/hello.txt', 'data/link', 'data/sub/', 'data/sub/deep.txt'])
    expect(entries[1]).toMatchObject({type: 'file', mode: 0o644, uid: 0, text: 'hello from the image\n'})
    expect(entries[2]).toMatchObject({type: 'symlink', linkname: 'hello.txt'})

    const pack = tar.pack()
    pack.entry({name: 'fromtar/', type: 'directory', mode: 0o750, uid: 1234, gid: 1235})
    pack.entry({name: 'fromtar/f.txt', mode: 0o600, uid: 1234, gid: 1235}, 'tar data\n')
    pack.finalize()
    const chunks: Buffer[] = []
    for await (const chunk of pack) chunks.push(chunk as Buffer)
    const unpacked = await cliBytes(['-a', '-', 'run1:/tmp'], Buffer.concat(chunks))
    expect(unpacked.code, unpacked.stderr).toBe(0)
    expect((await exec('run1', 'cat', '/tmp/fromtar/f.txt')).stdout).toBe('tar data\n')
    expect((await exec('run1', 'ls', '-ln', '/tmp/fromtar/f.txt')).stdout).toMatch(/^-rw------- +1 1234 +1235 /)
    expect((await exec('run1', 'ls', '-lnd', '/tmp/fromtar')).stdout).toMatch(/^drwxr-x--- +\d+ 1234 +1235 /)
  })
})

describe('ctr containers cp, stopped container (its snapshot)', () => {
  it('copies in and out through the snapshot, and leaves nothing mounted', async () => {
    const file = join(host, 'stopped-in.txt')
    await writeFile(file, 'into a stopped container\n')
    expect(await cli([file, 'stop1:/tmp/s.txt'])).toMatchObject({code: 0, stderr: ''})
    expect(await mountsLeft()).toEqual([])
    const back = join(host, 'stopped-back.txt')
    expect(await cli(['stop1:/tmp/s.txt', back])).toMatchObject({code: 0, stderr: ''})
    expect(await readFile(back, 'utf8')).toBe('into a stopped container\n')
    expect(await cli(['stop1:/etc/passwd', join(host, 'stopped-passwd')])).toMatchObject({code: 0})
    expect(await readFile(join(host, 'stopped-passwd'), 'utf8')).toBe(PASSWD)
    expect(await mountsLeft()).toEqual([])
    expect(await dirsLeft()).toEqual([])
    // Go's ctr sees the file in the container's snapshot too: start it again and read it.
    const again = await f.cli(ns, ['containers', 'start', '-a', 'stop1-check', NAME, 'true'])
    expect(again.code).toBe(0)
    await f.cli(ns, ['containers', 'delete', 'stop1-check'])
  })

  it("the next mount sweeps a directory a killed ctr left (its owner token's process is dead), and keeps a live one's", async () => {
    const pidNs = (await readlink('/proc/self/ns/pid')).replace(/\D/g, '')
    const started = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1].split(' ')[19]
    await mkdir(MOUNT_DIR, {recursive: true, mode: 0o700})
    const dead = join(MOUNT_DIR, `${pidNs}.${process.pid}.1-dead00`) // this PID, another start time: a dead process
    const live = join(MOUNT_DIR, `${pidNs}.${process.pid}.${started}-live00`) // this test process, alive
    await mkdir(dead, {mode: 0o700})
    await mkdir(live, {mode: 0o700})
    try {
      expect(await cli(['stop1:/etc/passwd', join(host, 'swept-passwd')])).toMatchObject({code: 0})
      expect(await dirsLeft()).toEqual([basename(live)])
    } finally {
      await rm(dead, {recursive: true, force: true})
      await rm(live, {recursive: true, force: true})
    }
    expect(await mountsLeft()).toEqual([])
  })

  it('Ctrl-C while a stopped container is open (waiting for stdin): exit 130, nothing mounted', async () => {
    const child = spawnCli(['containers', 'cp', '-', 'stop1:/tmp'], {address: f.address, namespace: ns})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    // A tar stream that has begun and does not end: ctr holds the snapshot open, reading.
    child.stdin!.on('error', () => undefined)
    child.stdin!.write(
      (
        await tarOf([
          {name: 'partial/', type: 'directory'},
          {name: 'partial/f', size: 4, data: 'data'},
        ])
      ).subarray(0, 512),
    )
    await new Promise((resolve) => setTimeout(resolve, 2500))
    child.kill('SIGINT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const code = await new Promise((resolve) => child.on('close', resolve))
    clearTimeout(timer)
    expect(code, stderr).toBe(130)
    expect(await mountsLeft()).toEqual([])
    expect(await dirsLeft()).toEqual([])
  })
})

describe('ctr containers cp, files shorter than their size', () => {
  // A sysfs file says 4096 bytes and has a few: as a file the container truncates while ctr reads it.
  const SHORT = '/sys/kernel/uevent_seqnum'
  for (const [what, args] of [
    ['in', [SHORT, 'run1:/tmp/']],
    ['out', ['run1:' + SHORT, join(tmpdir(), 'ctr-it-cp-never')]],
    ['out to -', ['run1:' + SHORT, '-']],
  ] as const) {
    it(`${what}: one line, exit 125 (no stack trace)`, async () => {
      expectOneLineError(await cli([...args]), /cannot copy [^:]+: it has \d+ bytes where its size said 4096/)
    })
  }

  it('Ctrl-C in the middle of a large file going in: exit 130, no stack trace, nothing mounted', async () => {
    const big = join(host, 'big')
    await writeFile(big, Buffer.alloc(1024 * 1024 * 1024))
    try {
      const child = spawnCli(['containers', 'cp', big, 'stop1:/tmp/big'], {address: f.address, namespace: ns})
      let stderr = ''
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      await new Promise((resolve) => setTimeout(resolve, 1500))
      child.kill('SIGINT')
      const code = await new Promise((resolve) => child.on('close', resolve))
      // Before: the tar entry's unheard 'error' event, a stack trace and exit 1.
      expect(code, stderr).toBe(130)
      expect(stderr).not.toMatch(/\n\s+at /)
      expect(await mountsLeft()).toEqual([])
    } finally {
      await rm(big, {force: true})
    }
  })
})

describe('ctr containers cp, symlinks that point out of the container', () => {
  for (const id of ['run1', 'stop1']) {
    it(`${id}: reads and writes through them stay inside its root; the host sentinel is neither read nor written`, async () => {
      // Reads: the container has no such path, so nothing is found (never the host's file).
      for (const link of ['abs-sentinel', 'rel-sentinel']) {
        const result = await cli(['-L', `${id}:/${link}`, join(host, `read-${id}-${link}`)])
        expectOneLineError(result, /no such file or directory in container/)
      }
      const viaDir = await cli([`${id}:/abs-host-dir/sentinel`, join(host, `read-${id}-dir`)])
      expectOneLineError(viaDir, /no such file or directory in container/)
      // ../../.. and /etc are the container's own root and /etc.
      for (const path of ['/up/etc/passwd', '/etc-link/passwd', '/up/up/etc-link/../etc/passwd']) {
        const target = join(host, `passwd-${id}-${path.replaceAll('/', '_')}`)
        expect(await cli([`${id}:${path}`, target])).toMatchObject({code: 0})
        expect(await readFile(target, 'utf8')).toBe(PASSWD)
      }

      // Writes: through the links, into the container (its /tmp), never the host's.
      const payload = join(host, `payload-${id}`)
      await writeFile(payload, 'PAYLOAD\n')
      for (const dest of ['/abs-sentinel', '/rel-sentinel', '/abs-host-dir/sentinel']) {
        const result = await cli([payload, `${id}:${dest}`])
        // The link's target has no parent directory in the container: refused, or written inside it.
        if (result.code !== 0) expectOneLineError(result, /in container/)
      }
      expect(await cli([payload, `${id}:/up/tmp/through-up`])).toMatchObject({code: 0})
      expect(await cli([payload, `${id}:/etc-link/written`])).toMatchObject({code: 0})
      // A tar stream with a symlink out of the root, then a file through it.
      const pack = tar.pack()
      pack.entry({name: 'evil', type: 'symlink', linkname: host})
      pack.entry({name: 'evil/sentinel', mode: 0o644}, 'OVERWRITTEN\n')
      pack.finalize()
      const chunks: Buffer[] = []
      for await (const chunk of pack) chunks.push(chunk as Buffer)
      await cliBytes(['-', `${id}:/tmp`], Buffer.concat(chunks))

      expect(await readFile(sentinel, 'utf8')).toBe('HOST SENTINEL\n')
      expect((await readdir(host)).filter((name) => name.startsWith('sentinel'))).toEqual(['sentinel'])
      await expect(stat('/tmp/through-up')).rejects.toThrow()
      await expect(stat('/etc/written')).rejects.toThrow()
      // What went in is in the container.
      const back = join(host, `back-${id}`)
      expect(await cli([`${id}:/tmp/through-up`, back])).toMatchObject({code: 0})
      expect(await readFile(back, 'utf8')).toBe('PAYLOAD\n')
      expect(await cli([`${id}:/etc/written`, `${back}-etc`])).toMatchObject({code: 0})
      expect(await mountsLeft()).toEqual([])
    })
  }
})

describe('ctr containers cp, the host side', () => {
  // The kernel refuses to follow another user's symlink in a sticky world-writable directory
  // (fs.protected_symlinks); ctr resolves links itself, so it must apply that rule too (probe finding).
  let sticky: string
  let secret: string
  beforeAll(async () => {
    sticky = join(host, 'sticky')
    await mkdir(sticky)
    await chmod(sticky, 0o1777)
    secret = join(host, 'secret')
    await mkdir(secret, {mode: 0o700})
    await writeFile(join(secret, 'key'), 'SECRET\n', {mode: 0o600})
    execFileSync('/usr/sbin/runuser', ['-u', 'nobody', '--', '/bin/ln', '-s', secret, join(sticky, 'evil')])
    execFileSync('/bin/ln', ['-s', secret, join(sticky, 'mine')])
  })

  it("another user's symlink in a sticky world-writable directory is not followed, either way; root's own is", async () => {
    expectOneLineError(await cli([join(sticky, 'evil', 'key'), 'run1:/tmp/stolen']), /refusing to follow .*evil on the host: a symlink of another user/)
    expect((await exec('run1', 'cat', '/tmp/stolen')).code).not.toBe(0)
    expectOneLineError(await cli(['run1:/data/.', join(sticky, 'evil')]), /refusing to follow .*evil on the host/)
    expect(await readdir(secret)).toEqual(['key'])
    expect(await cli([join(sticky, 'mine', 'key'), 'run1:/tmp/mine'])).toMatchObject({code: 0, stderr: ''})
    expect((await exec('run1', 'cat', '/tmp/mine')).stdout).toBe('SECRET\n')
  })

  it("a set-user-ID file copied out loses its set-ID bits, as it becomes the user's; -a keeps them", async () => {
    expect((await exec('run1', 'sh', '-c', 'echo x > /tmp/su && chmod 6755 /tmp/su')).code).toBe(0)
    expect(await cli(['run1:/tmp/su', join(host, 'su')])).toMatchObject({code: 0, stderr: ''})
    expect((await stat(join(host, 'su'))).mode & 0o7777).toBe(0o755)
    expect(await cli(['-a', 'run1:/tmp/su', join(host, 'su-a')])).toMatchObject({code: 0, stderr: ''})
    expect((await stat(join(host, 'su-a'))).mode & 0o7777).toBe(0o6755)
  })
})

describe('ctr containers cp, bad input', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['neither side a container', ['/etc/hostname', '/tmp/x'], /one of SRC and DEST must be ID:PATH/],
    ['both sides containers', ['run1:/etc/passwd', 'stop1:/tmp/x'], /between containers is not supported/],
    ['- on both sides', ['-', '-'], /'-' can be SRC or DEST, not both/],
    ['an unknown container', ['nosuch:/etc/passwd', '/tmp/x'], /container "nosuch" not found/],
    ['a missing path (running)', ['run1:/no/such', '/tmp/x'], /no such file or directory in container "run1": \/no\/such/],
    ['a missing path (stopped)', ['stop1:/no/such', '/tmp/x'], /no such file or directory in container "stop1": \/no\/such/],
    ['a missing host source', ['/no/such/host', 'stop1:/tmp'], /no such file or directory in the host: \/no\/such\/host/],
    ['no path after ID:', ['run1:', '/tmp/x'], /no path after "run1:"/],
    // The container's /proc/self names no process of ctr's PID namespace (before: a raw ENOENT of readlink '/proc/self/fd/N/self').
    ['an unreadable link (running)', ['run1:/proc/self/environ', '/tmp/x'], /no such file or directory in container "run1": \/proc\/self\/environ/],
    ['a directory onto a file', ['stop1:/data', sentinelPath()], /cannot copy a directory to a file/],
    ['a file into a missing directory', ['stop1:/data/hello.txt', '/no/such/dir/'], /no such (file or )?directory in the host/],
  ]
  for (const [what, args, message] of cases) {
    it(`${what}: one line, exit 125, nothing mounted`, async () => {
      const resolved = args.map((arg) => arg.replace('@SENTINEL@', sentinel))
      expectOneLineError(await runCli(['containers', 'cp', ...resolved], {address: f.address, namespace: ns}), message)
      expect(await mountsLeft()).toEqual([])
      expect(await dirsLeft()).toEqual([])
    })
  }
  it('the sentinel was not touched by any of it', async () => {
    expect(await readFile(sentinel, 'utf8')).toBe('HOST SENTINEL\n')
  })
})

function sentinelPath(): string {
  return '@SENTINEL@'
}
