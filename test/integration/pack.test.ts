/**
 * The package as a user gets it: `npm pack`, then `npm install --omit=dev <tarball>` into an empty
 * directory (no dev tools: no TypeScript, esbuild, oclif sources or protoc), and the installed `ctr` runs
 * --help and `version` against the private containerd; the library (which bundles grpc-js and tar-stream, as the
 * CLI does) loads with its one runtime dependency, @bufbuild/protobuf, and its types check. Needs `npm run build` first (the test suite builds before it runs). Slow: ~30-60 s.
 */
import {execFile} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

const ROOT = join(__dirname, '..', '..')
const run = promisify(execFile)
const {address} = inject('containerd')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../package.json') as {name: string; version: string; dependencies?: Record<string, string>}

let tmp: string
let tarball: string
let app: string
let files: string[]

/** The installed bin, run as a user would: a clean environment without our node_modules anywhere near. */
const installed = (args: string[], env: Record<string, string> = {}) =>
  run(join(app, 'node_modules', '.bin', 'ctr'), args, {cwd: app, env: {PATH: process.env.PATH!, HOME: tmp, ...env}, timeout: 30_000})

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-pack-'))
  const {stdout} = await run('npm', ['pack', '--json', '--pack-destination', tmp], {cwd: ROOT, timeout: 120_000})
  const [packed] = JSON.parse(stdout) as Array<{filename: string; files: Array<{path: string}>}>
  tarball = join(tmp, packed.filename)
  files = packed.files.map((f) => f.path)
  app = join(tmp, 'app')
  await run('mkdir', [app])
  await writeFile(join(app, 'package.json'), JSON.stringify({name: 'ctr-pack-test', version: '1.0.0', private: true}))
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], {cwd: app, timeout: 240_000})
}, 300_000)

afterAll(async () => {
  if (tmp) await rm(tmp, {recursive: true, force: true})
})

describe('npm pack', () => {
  it('holds the built CLI, the library, its types and the protos, and no sources or tests', () => {
    for (const file of ['bin/run.js', 'dist/cli.js', 'dist/index.js', 'dist/logger.js', 'dist/types/index.d.ts', 'package.json', 'README.md'])
      expect(files).toContain(file)
    expect(files.some((f) => f.startsWith('proto/'))).toBe(true)
    expect(files.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([])
    // One source map, for --debug stack traces of the minified CLI bundle; it carries no copy of the sources.
    expect(files.filter((f) => f.endsWith('.map'))).toEqual(['dist/cli.js.map'])
    const map = JSON.parse(readFileSync(join(ROOT, 'dist', 'cli.js.map'), 'utf8')) as {sourcesContent?: unknown}
    expect(map.sourcesContent).toBeUndefined()
  })

  it('carries the licence, the NOTICE for proto/, and the licences of every package the CLI bundles', () => {
    for (const file of ['LICENSE', 'NOTICE', 'dist/THIRD-PARTY-NOTICES.md']) expect(files).toContain(file)
    expect(readFileSync(join(app, 'node_modules', pkg.name, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/)
    expect(readFileSync(join(app, 'node_modules', pkg.name, 'NOTICE'), 'utf8')).toMatch(/proto\/.*containerd/s)
    const notices = readFileSync(join(app, 'node_modules', pkg.name, 'dist', 'THIRD-PARTY-NOTICES.md'), 'utf8')
    // @bufbuild/protobuf too: installed for the library, bundled in the CLI (docs/layout.md, "Dependencies").
    for (const bundled of ['@grpc/grpc-js', 'tar-stream', '@oclif/core', 'cli-table3', 'string-width', 'chalk', 'ora', '@bufbuild/protobuf'])
      expect(notices).toMatch(new RegExp(`^## ${bundled} \\d`, 'm'))
  })

  it('has an exports map: the library and package.json, nothing deeper', async () => {
    const program = `const lib = require(${JSON.stringify(pkg.name)})
      for (const name of ['ContainersDefinition', 'EventsDefinition', 'NamespacesDefinition', 'TasksDefinition', 'VersionDefinition', 'ContentDefinition', 'DiffDefinition', 'ImagesDefinition', 'LeasesDefinition', 'SnapshotsDefinition']) if (typeof lib[name]?.fullName !== 'string') throw new Error(name + ' missing')
      console.log(require(${JSON.stringify(`${pkg.name}/package.json`)}).version)
      try { require(${JSON.stringify(`${pkg.name}/dist/cli.js`)}); console.log('deep') } catch (error) { console.log(error.code) }`
    const {stdout} = await run(process.execPath, ['-e', program], {cwd: app, env: {PATH: process.env.PATH!}, timeout: 30_000})
    expect(stdout).toBe(`${pkg.version}\nERR_PACKAGE_PATH_NOT_EXPORTED\n`)
  })

  it('installs its one runtime dependency, and nothing the bundles carry (docs/layout.md, "Dependencies")', async () => {
    // @bufbuild/protobuf: the library's generated message code uses it, and its types are in the library's declarations.
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['@bufbuild/protobuf'])
    expect(existsSync(join(app, 'node_modules', '@bufbuild', 'protobuf'))).toBe(true)
    const modules = await readdir(join(app, 'node_modules'))
    for (const bundled of ['@grpc', 'tar-stream', 'typescript', 'esbuild', 'vitest', 'ts-proto', '@oclif', 'chalk']) expect(modules).not.toContain(bundled)
  })

  it('the installed ctr prints help', async () => {
    const {stdout, stderr} = await installed(['--help'])
    expect(stderr).toBe('')
    for (const word of ['containers', 'checkpoints', 'events', 'version']) expect(stdout).toMatch(new RegExp(`^  ${word}\\b`, 'm'))
    expect((await installed(['containers', 'start', '--help'])).stdout).toContain('ctr containers start redis /containers/redis')
    expect((await installed(['--version'])).stdout).toBe(`ctr ${pkg.version}\n`)
  })

  it('the installed ctr talks to containerd', async () => {
    const {stdout} = await installed(['version'], {CONTAINERD_ADDRESS: address})
    expect(stdout).toMatch(new RegExp(`Version:\\s+${pkg.version.replaceAll('.', '\\.')}`))
    expect(stdout).toMatch(/Server:\n\s+Version:\s+v?\d+\.\d+/)
    const json = JSON.parse((await installed(['--address', address, 'version', '--json'])).stdout)
    expect(json.server.version).toMatch(/\d+\.\d+/)
    // A bad address is still one line and exit 125, from the installed copy.
    const failed = await installed(['version'], {CONTAINERD_ADDRESS: join(tmp, 'missing.sock')}).catch((error) => error)
    expect(failed.code).toBe(125)
    expect(failed.stderr).toMatch(/^ctr: [^\n]+\n$/)
    // --debug adds the stack trace, mapped back to the TypeScript sources.
    const debug = await installed(['version', '--debug'], {CONTAINERD_ADDRESS: join(tmp, 'missing.sock')}).catch((error) => error)
    expect(debug.code).toBe(125)
    expect(debug.stderr).toMatch(/^ctr: [^\n]+\nCtrError: .*\n\s+at \S+ \(.*src\/lib\/containerd\/client\.ts:\d+:\d+\)/)
  })

  it('installs beside Go ctr with a prefix of its own: ctr and ctr-ts there, /usr/bin/ctr untouched', async () => {
    const goBefore = existsSync('/usr/bin/ctr') ? readFileSync('/usr/bin/ctr') : undefined
    const prefix = join(tmp, 'prefix')
    await run('npm', ['install', '-g', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], {cwd: tmp, timeout: 240_000})
    for (const bin of ['ctr', 'ctr-ts']) {
      const {stdout} = await run(join(prefix, 'bin', bin), ['--version'], {env: {PATH: process.env.PATH!, HOME: tmp}, timeout: 30_000})
      expect(stdout).toBe(`ctr ${pkg.version}\n`)
    }
    // PATH decides which ctr runs: the prefix's bin first gives this one.
    const {stdout} = await run('sh', ['-c', 'ctr --version'], {env: {PATH: `${join(prefix, 'bin')}:${process.env.PATH!}`, HOME: tmp}, timeout: 30_000})
    expect(stdout).toBe(`ctr ${pkg.version}\n`)
    if (goBefore) expect(readFileSync('/usr/bin/ctr').equals(goBefore)).toBe(true)
  }, 300_000)

  it('the installed library works from a program, with types', async () => {
    const program = `const {Containerd} = require(${JSON.stringify(pkg.name)})
      const ctr = new Containerd({address: process.argv[1], namespace: 'pack-test'})
      ctr.version().then((v) => { console.log(v.server.version); return ctr.containers.list() }).then((list) => { console.log(list.length); ctr.close() })`
    const {stdout} = await run(process.execPath, ['-e', program, address], {cwd: app, env: {PATH: process.env.PATH!}, timeout: 30_000})
    expect(stdout).toMatch(/^v?\d+\.\d+\.\d+\S*\n0\n$/)

    // The shipped declarations type-check a user's program (with the repository's tsc and @types/node).
    await writeFile(
      join(app, 'use.ts'),
      `import {Containerd, CtrError, TasksDefinition, type ContainerInfo} from ${JSON.stringify(pkg.name)}
       const ctr = new Containerd({address: '/run/containerd/containerd.sock', namespace: 'default', timeoutMs: 1000})
       export async function ids(): Promise<string[]> {
         const list: ContainerInfo[] = await ctr.containers.list(['status=running'])
         return list.map((c) => c.id)
       }
       export const isCtrError = (e: unknown): boolean => e instanceof CtrError
       export const task = (id: string) => ctr.client.service(TasksDefinition).get({containerId: id})
       // @ts-expect-error: kill wants a container ID string
       void ctr.tasks.kill(42)
       `,
    )
    await run(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'commonjs',
        '--moduleResolution',
        'node',
        '--target',
        'es2022',
        '--lib',
        'es2023',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        'use.ts',
      ],
      {cwd: app, timeout: 60_000},
    )
  })
})
