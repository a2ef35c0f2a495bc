/**
 * bin/run.js loads dist/cli.js through a V8 code cache (vm.Script cachedData) kept per user. Whatever the
 * cache's state (missing, garbage, from another build, in a directory nobody can write), ctr must behave
 * exactly as without it; and it keeps one cache file per Node version and install.
 *
 * V8 checks only the source's length before it runs cached code (issue 21). So the attacks here use the
 * real thing: a copy of dist/cli.js changed to run a payload, of the same length, that ctr itself runs
 * once to make V8's cache of it; that cache is then planted under the name ctr gives the real bundle's
 * cache (learnt by running ctr, never recomputed here), made to match the real bundle as far as the file
 * can say (forge()): what is left to protect it is who can write the file and its directories. The payload
 * appends the uid it ran as to the file named by $CTR_TEST_PAYLOAD, so a run of the planted code is seen
 * without timing anything.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {chmod, chown, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {CLI, cliEnv, runCli} from '../helpers/run-cli'

const ROOT = join(__dirname, '..', '..')
const BUNDLE = join(ROOT, 'dist', 'cli.js')
const isRoot = process.getuid!() === 0
let dir: string // 0755: the nobody tests' attacker must reach what is under it
let marker: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-code-cache-'))
  await chmod(dir, 0o755)
  marker = join(dir, 'payload-ran')
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})
beforeEach(async () => {
  await rm(marker, {force: true})
})

/** The uids the planted payload ran as since the test began ([] if it never ran). */
async function payloadRuns(): Promise<string[]> {
  const text = await readFile(marker, 'utf8').catch(() => '')
  return text.split('\n').filter(Boolean)
}

/** dist/cli.js with its dead tail (esbuild's export annotation and the source map comment) replaced by a
 * payload of the same length, so the whole bundle keeps its length and every function its position. */
async function sameLengthBundle(): Promise<string> {
  const source = await readFile(BUNDLE, 'utf8')
  const tail = source.match(/0&&\(module\.exports=\{[^}]*\}\);\n\/\/# sourceMappingURL=cli\.js\.map\n?$/)
  if (!tail) throw new Error('dist/cli.js no longer ends as this test expects: adapt sameLengthBundle()')
  const payload = ';try{require("fs").appendFileSync(process.env.CTR_TEST_PAYLOAD,process.getuid()+"\\n")}catch{}'
  expect(payload.length).toBeLessThanOrEqual(tail[0].length)
  const changed = source.slice(0, tail.index) + payload.padEnd(tail[0].length, ' ')
  expect(changed.length).toBe(source.length)
  return changed
}

/**
 * What an attacker who can write the cache file plants: the changed bundle's cache, with any copy of the
 * bundle it holds to compare with (bin/run.js keeps one after V8's data) made the real bundle's bytes.
 */
function forge(cache: Buffer, changed: Buffer, real: Buffer): Buffer {
  const at = cache.lastIndexOf(changed)
  if (at >= 0) real.copy(cache, at)
  return cache
}

/** A second install of ctr (bin/run.js, dist/cli.js, node_modules) whose bundle is `source`. */
async function install(at: string, source: string, mtime: Date): Promise<string> {
  await mkdir(join(at, 'bin'), {recursive: true})
  await mkdir(join(at, 'dist'), {recursive: true})
  await copyFile(CLI, join(at, 'bin', 'run.js'))
  await writeFile(join(at, 'dist', 'cli.js'), source)
  await utimes(join(at, 'dist', 'cli.js'), mtime, mtime)
  await symlink(join(ROOT, 'node_modules'), join(at, 'node_modules'))
  return join(at, 'bin', 'run.js')
}

/** `ctr --version` of another install, as a script runs it. */
function runInstall(runJs: string, env: Record<string, string>): {code: number | null; stdout: string} {
  const result = spawnSync(process.execPath, [runJs, '--version'], {env: cliEnv({env}), encoding: 'utf8'})
  return {code: result.status, stdout: result.stdout}
}

/** The one file in a cache directory, as ctr named it. */
async function onlyFile(cacheDir: string): Promise<string> {
  const names = await readdir(cacheDir)
  expect(names).toHaveLength(1)
  return join(cacheDir, names[0])
}

/** `ctr --version` as a script runs it, with only the cache settings given. */
const version = (env: Record<string, string | undefined>) =>
  runCli(['--version'], {env: {CTR_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined, CTR_TEST_PAYLOAD: marker, ...env}})
const help = (env: Record<string, string>) => runCli(['containers', '--help'], {env})
const usageError = (env: Record<string, string>) => runCli(['containers', '--bogus'], {env})

describe('the code cache never changes what ctr does', () => {
  it('is written on the first run (0600 in a 0700 dir) and used by the next, with the same output', async () => {
    const cacheDir = join(dir, 'fresh')
    const first = await help({CTR_CACHE_DIR: cacheDir})
    const file = await onlyFile(cacheDir)
    const written = await stat(file)
    expect(written.size).toBeGreaterThan(100_000)
    expect(written.mode & 0o777).toBe(0o600)
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700)
    const second = await help({CTR_CACHE_DIR: cacheDir})
    expect(second).toEqual(first)
    // Accepted, so not rewritten.
    const reused = await stat(file)
    expect([reused.ino, reused.mtimeMs]).toEqual([written.ino, written.mtimeMs])
  })

  it('a garbage cache is rejected silently, and replaced by a good one', async () => {
    const cacheDir = join(dir, 'garbage')
    await help({CTR_CACHE_DIR: cacheDir})
    const file = await onlyFile(cacheDir)
    await writeFile(file, Buffer.alloc(4096, 0x5a))
    const result = await help({CTR_CACHE_DIR: cacheDir})
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/List the containers/)
    expect((await stat(file)).size).toBeGreaterThan(4096)
  })

  it('a cache directory that cannot be created is no problem', async () => {
    for (const env of [{CTR_CACHE_DIR: '/proc/ctr-no-such-dir'}, {CTR_CACHE_DIR: join(BUNDLE, 'not-a-dir')}]) {
      const result = await usageError(env)
      expect(result.code).toBe(125)
      expect(result.stderr).toMatch(/^ctr: unknown flag --bogus/)
      expect((await help(env)).code).toBe(0)
    }
  })

  it('CTR_NO_CODE_CACHE=1 loads the bundle with a plain require and writes nothing', async () => {
    const cacheDir = join(dir, 'none')
    const result = await help({CTR_NO_CODE_CACHE: '1', CTR_CACHE_DIR: cacheDir})
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/List the containers/)
    await expect(readdir(cacheDir)).rejects.toThrow(/ENOENT/)
  })

  it('a cache made for a same-length bundle is never run: an upgrade that keeps size and mtime (npm, tar, cp -p)', async () => {
    const cacheDir = join(dir, 'upgrade')
    const mtime = new Date('1985-10-26T08:15:00Z') // npm's mtime for every packed file
    const ctr = await install(join(dir, 'upgrade-install'), await sameLengthBundle(), mtime)
    const env = {CTR_CACHE_DIR: cacheDir, CTR_TEST_PAYLOAD: marker}
    // The changed build runs (its payload included) and leaves its cache.
    expect(runInstall(ctr, env)).toEqual({code: 0, stdout: expect.stringMatching(/^ctr /)})
    expect(await payloadRuns()).toEqual([String(process.getuid!())])
    await rm(marker)
    // Replaced by the real bundle, same size, same mtime.
    await writeFile(join(dir, 'upgrade-install', 'dist', 'cli.js'), await readFile(BUNDLE))
    await utimes(join(dir, 'upgrade-install', 'dist', 'cli.js'), mtime, mtime)
    expect(runInstall(ctr, env)).toEqual({code: 0, stdout: expect.stringMatching(/^ctr /)})
    expect(await payloadRuns()).toEqual([])
    // ... and its cache was replaced: still one per install.
    await onlyFile(cacheDir)
  })

  it('keeps one cache per Node version and install: a rebuild replaces its own, other installs and files keep theirs', async () => {
    const cacheDir = join(dir, 'prune')
    const ctr = await install(join(dir, 'prune-install'), await readFile(BUNDLE, 'utf8'), new Date())
    expect(runInstall(ctr, {CTR_CACHE_DIR: cacheDir}).code).toBe(0)
    const [first] = await readdir(cacheDir)
    // Another install (this checkout) in the same directory, and a file that is not a cache of ctr's.
    await help({CTR_CACHE_DIR: cacheDir})
    await writeFile(join(cacheDir, 'notes.txt'), 'not ours')
    const names = (await readdir(cacheDir)).sort()
    expect(names).toHaveLength(3)
    const before = await stat(join(cacheDir, first))
    await writeFile(join(dir, 'prune-install', 'dist', 'cli.js'), `${await readFile(BUNDLE, 'utf8')}\n// rebuilt\n`)
    expect(runInstall(ctr, {CTR_CACHE_DIR: cacheDir}).code).toBe(0)
    expect((await readdir(cacheDir)).sort()).toEqual(names)
    expect((await stat(join(cacheDir, first))).ino).not.toBe(before.ino)
  })
})

/**
 * The attacker is `nobody` (setpriv, as scripts/unit-as-nobody.sh runs things as nobody); the victim is
 * root running an unmodified ctr with the attacker's HOME (sudo -E, su without -) or cache settings.
 */
describe.skipIf(!isRoot)('a cache another user could have written is never run by root', () => {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], {encoding: 'utf8'}).trim())
  let nobody: {uid: number; gid: number}
  let home: string
  let evilInstall: string
  let evilCache: Buffer
  let cacheName: string

  const asNobody = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync('setpriv', [`--reuid=${nobody.uid}`, `--regid=${nobody.gid}`, '--clear-groups', process.execPath, ...args], {
      env: {PATH: process.env.PATH, HOME: home, CTR_TEST_PAYLOAD: marker, ...env},
      encoding: 'utf8',
      cwd: home,
    })
    expect(result.status, `as nobody: ${args.join(' ')}: ${result.stderr}`).toBe(0)
    return result
  }

  beforeAll(async () => {
    nobody = {uid: id('-u'), gid: id('-g')}
    home = join(dir, 'home')
    await mkdir(home, {mode: 0o700})
    await chown(home, nobody.uid, nobody.gid)
    evilInstall = await install(join(dir, 'evil-install'), await sameLengthBundle(), new Date())
    // The attacker's own runs: of the real ctr (so its cache's name is known), and of the changed copy.
    asNobody([CLI, '--version'])
    cacheName = (await readdir(join(home, '.cache', 'ctr')))[0]
    asNobody([evilInstall, '--version'], {CTR_CACHE_DIR: join(home, 'evil-cache')})
    evilCache = forge(await readFile(await onlyFile(join(home, 'evil-cache'))), Buffer.from(await sameLengthBundle()), await readFile(BUNDLE))
    await writeFile(join(dir, 'forged'), evilCache, {mode: 0o644})
  })

  it("the attacker's own ctr uses its cache (the normal case, as a user other than root)", async () => {
    const file = join(home, '.cache', 'ctr', cacheName)
    const before = await stat(file)
    expect(before.uid).toBe(nobody.uid)
    asNobody([CLI, '--version'])
    const after = await stat(file)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
    expect(await readdir(join(home, '.cache', 'ctr'))).toEqual([cacheName])
  })

  it("root's unmodified ctr never runs a same-length bundle's cache planted in the user's cache dir", async () => {
    // The plant, by nobody, under the real bundle's cache name.
    asNobody(['-e', 'require("fs").copyFileSync(process.argv[1], process.argv[2])', join(dir, 'forged'), join(home, '.cache', 'ctr', cacheName)])
    for (const env of [{HOME: home}, {XDG_CACHE_HOME: join(home, '.cache')}, {CTR_CACHE_DIR: join(home, '.cache', 'ctr')}]) {
      const result = await version(env)
      expect(result, JSON.stringify(env)).toMatchObject({code: 0, stdout: expect.stringMatching(/^ctr /), stderr: ''})
      expect(await payloadRuns(), JSON.stringify(env)).toEqual([])
    }
    // Nor does root leave files of its own in the user's home: its cache is a place of root's.
    const owners = new Set<number>()
    for (const name of await readdir(home, {recursive: true})) owners.add((await stat(join(home, name))).uid)
    expect([...owners]).toEqual([nobody.uid])
    const own = await stat(join('/var/cache/ctr', cacheName))
    expect([own.uid, own.mode & 0o777]).toEqual([0, 0o600])
  })

  describe('in a cache dir of root', () => {
    const plant = async (cacheDir: string) => {
      await mkdir(cacheDir, {recursive: true, mode: 0o700})
      await writeFile(join(cacheDir, cacheName), evilCache, {mode: 0o600})
    }

    it('control: the planted cache, root-owned 0600 in a 0700 dir of root, does run (V8 checks only the length)', async () => {
      const cacheDir = join(dir, 'root-control')
      await plant(cacheDir)
      expect((await version({CTR_CACHE_DIR: cacheDir})).code).toBe(0)
      expect(await payloadRuns()).toEqual(['0'])
    })

    it('not a cache file owned by another user, or writable by group or others', async () => {
      const cases: [string, (file: string) => Promise<void>][] = [
        ['owned by nobody', (file) => chown(file, nobody.uid, nobody.gid)],
        ['group-writable', (file) => chmod(file, 0o620)],
        ['world-writable', (file) => chmod(file, 0o602)],
      ]
      for (const [what, spoil] of cases) {
        const cacheDir = join(dir, `root-file-${what.replace(/\W+/g, '-')}`)
        await plant(cacheDir)
        await spoil(join(cacheDir, cacheName))
        expect((await version({CTR_CACHE_DIR: cacheDir})).code, what).toBe(0)
        expect(await payloadRuns(), what).toEqual([])
      }
    })

    it('not a cache file that is a symbolic link, even to a file of root', async () => {
      const cacheDir = join(dir, 'root-file-symlink')
      await plant(join(dir, 'elsewhere'))
      await mkdir(cacheDir, {mode: 0o700})
      await symlink(join(dir, 'elsewhere', cacheName), join(cacheDir, cacheName))
      expect((await version({CTR_CACHE_DIR: cacheDir})).code).toBe(0)
      expect(await payloadRuns()).toEqual([])
    })

    it('not a cache dir that another user owns or can write, or reached through a symbolic link', async () => {
      const at = (...names: string[]) => join(dir, ...names)
      // What, where the plant is, how it is spoilt, and the CTR_CACHE_DIR root's ctr is given (default: where the plant is).
      const cases: [string, string, () => Promise<unknown>, string?][] = [
        ['dir owned by nobody', at('d1'), () => chown(at('d1'), nobody.uid, nobody.gid)],
        ['dir group-writable', at('d2'), () => chmod(at('d2'), 0o770)],
        ['dir world-writable, sticky', at('d3'), () => chmod(at('d3'), 0o1777)],
        ['an ancestor group-writable', at('d4', 'ctr'), () => chmod(at('d4'), 0o775)],
        ['an ancestor owned by nobody', at('d5', 'ctr'), () => chown(at('d5'), nobody.uid, nobody.gid)],
        ['the dir a symlink', at('d6'), () => symlink(at('d6'), at('d6-link')), at('d6-link')],
        ['an ancestor a symlink', at('d7', 'ctr'), () => symlink(at('d7'), at('d7-link')), at('d7-link', 'ctr')],
      ]
      for (const [what, planted, spoil, cacheDir = planted] of cases) {
        await plant(planted)
        await spoil()
        const result = await version({CTR_CACHE_DIR: cacheDir})
        expect(result, what).toMatchObject({code: 0, stdout: expect.stringMatching(/^ctr /), stderr: ''})
        expect(await payloadRuns(), what).toEqual([])
      }
    })
  })
})
