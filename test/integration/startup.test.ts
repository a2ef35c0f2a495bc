/**
 * What a ctr start-up loads: grpc-js (and node:http2, tls, http under it) only for commands that call the
 * daemon, and only once they do; help and usage errors never load it (docs/performance.md). Node's list of
 * loaded built-ins is read at exit through a preload (`node -r`), for real runs against the private
 * containerd.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {CLI, cliEnv} from '../helpers/run-cli'

/** What grpc-js brings: node:http2 and the modules under it (tls, crypto, assert). ctr's own code loads
 * crypto only on first use (child_process and readline come with oclif itself, which ctr does not patch). */
const GRPC_BUILTINS = ['http2', 'tls', 'http', 'https', 'crypto', 'assert']

const {address} = inject('containerd')
let tmp: string
let preload: string

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-it-startup-'))
  preload = join(tmp, 'loaded.js')
  await writeFile(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(process.env.CTR_TEST_LOADED, JSON.stringify({builtins: process.moduleLoadList, files: Object.keys(require.cache)})))\n`,
  )
})

afterAll(async () => {
  if (tmp) await rm(tmp, {recursive: true, force: true})
})

/** Runs the built CLI under the preload; returns the public built-ins it loaded. */
async function loadedBuiltins(args: string[], expectedCode = 0): Promise<string[]> {
  return (await loaded(args, expectedCode)).builtins
}

/** Runs the built CLI under the preload; returns the public built-ins and the JavaScript files it loaded. */
async function loaded(args: string[], expectedCode = 0): Promise<{builtins: string[]; files: string[]}> {
  const out = join(tmp, `loaded-${args.join('_').replace(/[^\w-]/g, '')}.json`)
  const code = await promisify(execFile)(process.execPath, ['-r', preload, CLI, ...args], {
    env: {...cliEnv({address, namespace: 'ctr-startup'}), CTR_TEST_LOADED: out},
    timeout: 30_000,
  }).then(
    () => 0,
    (error: {code: number}) => error.code,
  )
  expect(code).toBe(expectedCode)
  const list = JSON.parse(await readFile(out, 'utf8')) as {builtins: string[]; files: string[]}
  const builtins = list.builtins.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length))
  return {builtins, files: list.files.filter((f) => f !== preload)}
}

describe('start-up weight', () => {
  it.each([[['--help']], [['containers', '--help']], [['containers', 'kill']], [['containers', '--bogus']], [['bogus']]])(
    'ctr %j does not load grpc-js or node:http2',
    async (args) => {
      const loaded = await loadedBuiltins(args, args.includes('--help') ? 0 : 125)
      expect(loaded.filter((m) => GRPC_BUILTINS.includes(m))).toEqual([])
    },
  )

  it.each([['version'], ['containers']])('ctr %s calls containerd through grpc-js', async (command) => {
    const loaded = await loadedBuiltins([command])
    expect(loaded).toContain('http2')
  })

  // Whatever is required from node_modules misses bin/run.js's code cache (it covers dist/cli.js only):
  // @bufbuild/protobuf from there cost ≈8 ms of each start-up and ≈14 ms of --help (docs/performance.md).
  it.each([[['version']], [['containers']], [['--help']]])('ctr %j runs from dist/cli.js alone', async (args) => {
    const {files} = await loaded(args)
    expect([...files].sort()).toEqual([join(CLI, '..', '..', 'dist', 'cli.js'), CLI].sort())
  })
})
