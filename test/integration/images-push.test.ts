/**
 * `ctr images push` to a private docker-registry: the digest skopeo inspect sees is the one pushed; a
 * second push uploads nothing; the auth instance takes the right password and refuses a wrong one; Go ctr
 * pulls what we pushed.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {errorShape} from '../helpers/leftovers'
import {type PrivateRegistry, startRegistry} from '../helpers/registry'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let registry: PrivateRegistry
let secure: PrivateRegistry
let ns: string
const NAME = 'example.com/ctr-test/push:1'
const AUTH = {user: 'bob', password: 'pw-Push-77'}

beforeAll(async () => {
  f = await setupImagesFixture('push')
  const layers = [await busyboxLayer(), filesLayer({'etc/': {dir: true}, 'etc/hello': 'pushed by ctr\n'})]
  const image = await buildImage({layers, gzip: true, config: {Env: ['PATH=/bin'], Cmd: ['cat', '/etc/hello']}})
  const archive = join(f.dir, 'push.tar')
  await writeOciArchive(archive, [{image, name: NAME}])
  ns = f.namespace('src')
  const imported = await f.cli(ns, ['images', 'import', archive])
  expect(imported.code, imported.stderr).toBe(0)
  registry = await startRegistry()
  secure = await startRegistry({auth: AUTH})
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  await secure?.stop()
  await f?.cleanup()
})

describe('images push', () => {
  it('pushes: skopeo inspect shows the digest; again uploads nothing; Go ctr pulls and runs it', async () => {
    const local = (await f.rows(ns, ['images', 'ls']))[0]
    const ref = `${registry.host}/ctr/push:1`
    const result = await f.cli(ns, ['images', 'push', '--plain-http', ref, NAME])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`${ref} ${local[2]}\n`)
    expect(result.stderr).toMatch(/^pushed sha256:[a-f0-9]{64}: 3 of 3 blob\(s\) uploaded/)
    expect(await registry.inspectDigest('ctr/push:1')).toBe(local[2])
    const again = await f.cli(ns, ['images', 'push', '--plain-http', '--json', ref, NAME])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).uploaded.blobs).toBe(0)
    const go = f.namespace('go')
    const pulled = await f.go(go, ['images', 'pull', '--plain-http', ref])
    expect(pulled.code, pulled.stderr).toBe(0)
    const run = await f.go(go, ['run', '--rm', '--fifo-dir', join(f.dir, 'fifo'), ref, 'push-run-1'])
    expect(run.stdout).toBe('pushed by ctr\n')
  }, 120_000)

  it('auth: a wrong password is one line, unauthorized, nothing pushed; the right one pushes', async () => {
    const ref = `${secure.host}/ctr/push:1`
    const wrong = await f.cli(ns, ['images', 'push', '--plain-http', '--user', `${AUTH.user}:nope-nope`, ref, NAME])
    expect(errorShape(wrong)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(wrong.stderr).toMatch(/unauthorized/)
    expect(wrong.stderr).not.toContain('nope-nope')
    await expect(secure.inspectDigest('ctr/push:1')).rejects.toThrow()
    const right = await f.cli(ns, ['images', 'push', '--plain-http', '--user', AUTH.user, ref, NAME], {input: `${AUTH.password}\n`})
    expect(right.code, right.stderr).toBe(0)
    expect(await secure.inspectDigest('ctr/push:1')).toBe((await f.rows(ns, ['images', 'ls']))[0][2])
  }, 120_000)

  it('an unknown local image: one line, not found', async () => {
    const result = await f.cli(ns, ['images', 'push', '--plain-http', `${registry.host}/ctr/none:1`, 'example.com/none:1'])
    expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(result.stderr).toMatch(/not found/)
  })
})
