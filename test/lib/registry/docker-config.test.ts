/**
 * docker's config.json as ctr reads it for pull and push: credential helpers (credHelpers, credsStore) run as
 * `docker-credential-NAME get` found through PATH, then auths; a malformed file or a failing helper is one
 * error naming it.
 */
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CtrError} from '../../../src/lib/containerd/errors'
import {dockerConfigCredentials} from '../../../src/lib/registry/auth'

let dir: string
let bin: string
let config: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-docker-config-'))
  bin = join(dir, 'bin')
  config = join(dir, 'docker')
  await mkdir(bin, {mode: 0o700})
  await mkdir(config)
  const helper = async (name: string, body: string) => {
    await writeFile(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`)
    await chmod(join(bin, `docker-credential-${name}`), 0o755)
  }
  // Records what it was asked (argv and stdin), answers for one server only.
  await helper(
    'fake',
    `read server; echo "$1 $server" > "${dir}/asked"; case "$server" in reg.example:5000|https://index.docker.io/v1/) echo '{"ServerURL":"'$server'","Username":"alice","Secret":"s3cret"}';; *) echo 'credentials not found in native keychain'; exit 1;; esac`,
  )
  await helper('broken', 'echo "keychain locked" >&2; exit 3')
  await helper('slow', 'exec sleep 30')
  await helper('garbage', 'echo not json')
})

afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function withConfig(json: unknown): Promise<NodeJS.ProcessEnv> {
  await writeFile(join(config, 'config.json'), typeof json === 'string' ? json : JSON.stringify(json))
  return {DOCKER_CONFIG: config, PATH: `/nonexistent:relative/bin:${bin}:/usr/bin:/bin`}
}

const basic = (user: string, password: string) => ({auth: Buffer.from(`${user}:${password}`).toString('base64')})

describe('docker config.json credentials', () => {
  it('credsStore: runs docker-credential-NAME get with the server on stdin', async () => {
    const env = await withConfig({credsStore: 'fake'})
    expect(await dockerConfigCredentials('reg.example:5000', env)).toEqual({username: 'alice', password: 's3cret'})
    expect(await readFile(join(dir, 'asked'), 'utf8')).toBe('get reg.example:5000\n')
    expect(await dockerConfigCredentials('docker.io', env)).toEqual({username: 'alice', password: 's3cret'})
    expect(await readFile(join(dir, 'asked'), 'utf8')).toBe('get https://index.docker.io/v1/\n')
  })

  it('credHelpers[host] wins over credsStore; a helper with nothing stored leaves auths', async () => {
    const env = await withConfig({
      credsStore: 'broken',
      credHelpers: {'reg.example:5000': 'fake', 'other.example': 'fake'},
      auths: {'other.example': basic('bob', 'pw')},
    })
    expect(await dockerConfigCredentials('reg.example:5000', env)).toEqual({username: 'alice', password: 's3cret'})
    expect(await dockerConfigCredentials('other.example', env)).toEqual({username: 'bob', password: 'pw'})
  })

  it('a helper that fails, hangs or answers garbage: one line naming it', async () => {
    const broken = await dockerConfigCredentials('reg.example:5000', await withConfig({credsStore: 'broken'})).catch((e: unknown) => e)
    expect(broken).toBeInstanceOf(CtrError)
    expect((broken as Error).message).toBe('credential helper docker-credential-broken failed for reg.example:5000: keychain locked')
    const started = Date.now()
    const slow = await dockerConfigCredentials('reg.example:5000', await withConfig({credsStore: 'slow'}), {helperTimeoutMs: 500}).catch((e: unknown) => e)
    expect((slow as Error).message).toBe('credential helper docker-credential-slow failed for reg.example:5000: no answer within 0.5s')
    expect(Date.now() - started).toBeLessThan(5000)
    const garbage = await dockerConfigCredentials('reg.example:5000', await withConfig({credsStore: 'garbage'})).catch((e: unknown) => e)
    expect((garbage as Error).message).toMatch(/^credential helper docker-credential-garbage answered something that is not JSON/)
    const missing = await dockerConfigCredentials('reg.example:5000', await withConfig({credsStore: 'nosuch'})).catch((e: unknown) => e)
    expect((missing as Error).message).toBe('credential helper docker-credential-nosuch not found in PATH (docker config names "nosuch")')
  })

  it('a helper in a directory others can write is not run', async () => {
    await chmod(bin, 0o777)
    try {
      const error = await dockerConfigCredentials('reg.example:5000', await withConfig({credsStore: 'fake'})).catch((e: unknown) => e)
      expect((error as Error).message).toMatch(/docker-credential-fake: it or its directory can be changed by other users/)
    } finally {
      await chmod(bin, 0o700)
    }
  })

  it('a malformed config.json is an error naming the file; none at all is no credentials', async () => {
    const error = await dockerConfigCredentials('reg.example:5000', await withConfig('{"auths": {')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).message).toMatch(new RegExp(`^malformed docker config ${join(config, 'config.json')}: `))
    expect((error as CtrError).message).not.toContain('\n')
    const notObject = await dockerConfigCredentials('reg.example:5000', await withConfig('[]')).catch((e: unknown) => e)
    expect((notObject as Error).message).toBe(`malformed docker config ${join(config, 'config.json')}: not a JSON object`)
    expect(await dockerConfigCredentials('reg.example:5000', {DOCKER_CONFIG: join(dir, 'none')})).toBeUndefined()
  })
})
