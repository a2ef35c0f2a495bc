/**
 * What a plain `ctr version` / `ctr containers` loads: the start-up work kept out of every invocation
 * (README "Performance") stays out. Node's list of loaded built-ins is read at exit through a preload
 * (`node -r`), for a real call against the private containerd; a command that needs one of these modules
 * (exec IDs need crypto, attach needs child_process for mkfifo) still gets it on first use.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {CLI, cliEnv} from '../helpers/run-cli'

/** Built-ins no listing or version call needs: node:http2 (and the tls, crypto, http it pulls in) was
 * replaced by our own HTTP/2 client; the others load lazily (scripts/build.mjs: LAZY_BUILTINS, and
 * wsl-utils, which oclif asks about WSL, no longer loads child_process). */
const NEVER_AT_START = ['http2', 'tls', 'http', 'https', 'crypto', 'assert', 'perf_hooks', 'readline', 'child_process', 'dgram']

const {address} = inject('containerd')
let tmp: string
let preload: string

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-it-startup-'))
  preload = join(tmp, 'loaded.js')
  await writeFile(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(process.env.CTR_TEST_LOADED, JSON.stringify(process.moduleLoadList)))\n`,
  )
})

afterAll(async () => {
  if (tmp) await rm(tmp, {recursive: true, force: true})
})

/** Runs the built CLI under the preload; returns the public built-ins it loaded. */
async function loadedBuiltins(args: string[], expectedCode = 0): Promise<string[]> {
  const out = join(tmp, `loaded-${args[0]}-${args.length}.json`)
  const code = await promisify(execFile)(process.execPath, ['-r', preload, CLI, ...args], {
    env: {...cliEnv({address, namespace: 'ctr-startup'}), CTR_TEST_LOADED: out},
    timeout: 30_000,
  }).then(
    () => 0,
    (error: {code: number}) => error.code,
  )
  expect(code).toBe(expectedCode)
  const list = JSON.parse(await readFile(out, 'utf8')) as string[]
  return list.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice('NativeModule '.length))
}

describe('start-up weight', () => {
  it.each([['version'], ['containers']])('ctr %s calls containerd without loading http2, tls, crypto and the lazy built-ins', async (command) => {
    const loaded = await loadedBuiltins([command])
    expect(loaded).toContain('net') // the call really went over a socket
    expect(loaded.filter((m) => NEVER_AT_START.includes(m))).toEqual([])
  })

  it('a command that needs a lazy built-in still gets it (an exec ID comes from crypto)', async () => {
    // The exec ID is made before containerd answers "not found" for the missing container.
    const loaded = await loadedBuiltins(['containers', 'exec', '--id', 'no-such-container', '--', 'true'], 125)
    expect(loaded).toContain('crypto')
  })
})
