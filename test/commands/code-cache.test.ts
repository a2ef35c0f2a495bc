/**
 * bin/run.js loads dist/cli.js through a V8 code cache (vm.Script cachedData) kept per user. Whatever the
 * cache's state (missing, garbage, from another build, in a directory nobody can write), ctr must behave
 * exactly as without it; and it keeps one cache file per Node version.
 */
import {mkdir, mkdtemp, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../helpers/run-cli'

const BUNDLE = join(__dirname, '..', '..', 'dist', 'cli.js')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-code-cache-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** bin/run.js's key for this install: FNV-1a of the bundle's path. */
function installHash(): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < BUNDLE.length; i++) hash = Math.imul(hash ^ BUNDLE.charCodeAt(i), 0x01000193) >>> 0
  return hash.toString(16)
}
const prefix = () => `cli-${process.version}-${process.arch}-${installHash()}-`

async function cacheName(): Promise<string> {
  const s = await stat(BUNDLE)
  return `${prefix()}${s.size}-${Math.trunc(s.mtimeMs)}.cache`
}

const help = (env: Record<string, string>) => runCli(['containers', '--help'], {env})
const usageError = (env: Record<string, string>) => runCli(['containers', '--bogus'], {env})

describe('the code cache never changes what ctr does', () => {
  it('is written on the first run and used by the next, with the same output', async () => {
    const cacheDir = join(dir, 'fresh')
    const first = await help({CTR_CACHE_DIR: cacheDir})
    expect(await readdir(cacheDir)).toEqual([await cacheName()])
    const written = await stat(join(cacheDir, await cacheName()))
    expect(written.size).toBeGreaterThan(100_000)
    const second = await help({CTR_CACHE_DIR: cacheDir})
    expect(second).toEqual(first)
    // Accepted, so not rewritten.
    expect((await stat(join(cacheDir, await cacheName()))).mtimeMs).toBe(written.mtimeMs)
  })

  it('a garbage cache is rejected silently, and replaced by a good one', async () => {
    const cacheDir = join(dir, 'garbage')
    await mkdir(cacheDir)
    const name = await cacheName()
    await writeFile(join(cacheDir, name), Buffer.alloc(4096, 0x5a))
    const result = await help({CTR_CACHE_DIR: cacheDir})
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/List the containers/)
    expect((await stat(join(cacheDir, name))).size).toBeGreaterThan(4096)
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

  it('keeps one cache per Node version and install: those of earlier builds go, other installs keep theirs', async () => {
    const cacheDir = join(dir, 'prune')
    await mkdir(cacheDir)
    await writeFile(join(cacheDir, `${prefix()}1-1.cache`), 'old build')
    const otherInstall = `cli-${process.version}-${process.arch}-0badf00d-1-1.cache`
    await writeFile(join(cacheDir, otherInstall), 'another checkout of ctr')
    await writeFile(join(cacheDir, 'cli-v99.0.0-x64-0badf00d-1-1.cache'), 'another Node')
    await runCli(['--version'], {env: {CTR_CACHE_DIR: cacheDir}})
    expect((await readdir(cacheDir)).sort()).toEqual([await cacheName(), otherInstall, 'cli-v99.0.0-x64-0badf00d-1-1.cache'].sort())
  })
})
