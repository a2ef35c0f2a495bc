/**
 * Registry hosts configuration for pull and push, against private docker-registry instances and the
 * suite's containerd: a hosts.toml mirror (a second registry that alone has the image, so a pull that
 * works came from it), a mirror that is down or lacks the image falls through to the registry, an error
 * that names every host tried; TLS with a CA made here (openssl, a certificate for 127.0.0.1): --tlscacert,
 * hosts.toml `ca`, docker's `*.crt`, --skip-verify, a client certificate (--tlscert/--tlskey); files
 * another user could change are refused. Each failure one line, exit 125, nothing left.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {errorShape} from '../helpers/leftovers'
import {freePort, type PrivateRegistry, startRegistry} from '../helpers/registry'
import {EMPTY_STATE, type ImagesFixture, setupImagesFixture} from './images-fixture'

let f: ImagesFixture
let origin: PrivateRegistry
let mirror: PrivateRegistry
let empty: PrivateRegistry
let secure: PrivateRegistry
let clientAuth: PrivateRegistry
let closed = ''
let pki = ''

function openssl(args: string[]): void {
  execFileSync('/usr/bin/openssl', args, {stdio: 'ignore'})
}

/** A CA, a server certificate for 127.0.0.1 it signed, and a client certificate it signed, in `dir`. */
function makePki(dir: string): void {
  const at = (name: string) => join(dir, name)
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ctr test CA', '-keyout', at('ca.key'), '-out', at('ca.pem')])
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ]) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`)])
    writeFileSync(at(`${name}.ext`), ext)
    openssl([
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      at(`${name}.ext`),
      '-out',
      at(`${name}.pem`),
    ])
  }
}

/** A hosts dir with `files` (path → text) under it; private (0700), as ctr requires. */
async function hostsDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(f.dir, name)
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), {recursive: true, mode: 0o700})
    await writeFile(join(dir, path), text, {mode: 0o600})
  }
  return dir
}

beforeAll(async () => {
  f = await setupImagesFixture('hosts')
  const image = await buildImage({layers: [filesLayer({'hello.txt': 'from the mirror\n'})], config: {Cmd: ['true']}})
  const archive = join(f.dir, 'image.tar')
  await writeOciArchive(archive, [{image, name: 'x'}])
  pki = join(f.dir, 'pki')
  await mkdir(pki, {mode: 0o700})
  makePki(pki)
  ;[origin, mirror, empty, secure, clientAuth] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry(),
    startRegistry({tls: {certificate: join(pki, 'server.pem'), key: join(pki, 'server.key')}}),
    startRegistry({tls: {certificate: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCAs: [join(pki, 'ca.pem')]}}),
  ])
  closed = `127.0.0.1:${await freePort()}`
  // Only the mirror has test/only-mirror; only the registry itself has test/only-origin.
  await mirror.put(archive, 'test/only-mirror:1')
  await origin.put(archive, 'test/only-origin:1')
  await secure.put(archive, 'test/app:1')
}, 120_000)

afterAll(async () => {
  await Promise.all([origin, mirror, empty, secure, clientAuth].map((r) => r?.stop()))
  await f?.cleanup()
})

async function expectPulled(ns: string, ref: string, result: {code: number | null; stdout: string; stderr: string}) {
  expect(result.code, result.stderr).toBe(0)
  expect(result.stdout).toBe(`${ref}\n`)
  const images = await f.rows(ns, ['images', 'ls'])
  expect(images.map((row) => row[0])).toContain(ref)
}

async function expectNothingLeft(ns: string) {
  await f.gc()
  expect(await f.state(ns)).toEqual(EMPTY_STATE)
}

describe('images pull through hosts.toml mirrors', () => {
  it('pulls from a mirror the image is only on; Go ctr with the same --hosts-dir does too', async () => {
    const dir = await hostsDir('mirror', {
      [`${origin.host}/hosts.toml`]: `server = "http://${origin.host}"\n\n[host."http://${mirror.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    })
    const ref = `${origin.host}/test/only-mirror:1`
    const ns = f.namespace('mirror')
    await expectPulled(ns, ref, await f.cli(ns, ['images', 'pull', '--hosts-dir', dir, ref]))
    const go = await f.go(f.namespace('mirror-go'), ['images', 'pull', '--hosts-dir', dir, ref])
    expect(go.code, go.stderr).toBe(0)
    // Without the hosts dir the registry itself is asked, and it has no such image.
    const direct = await f.cli(f.namespace('direct'), ['images', 'pull', '--plain-http', '--hosts-dir', join(f.dir, 'none-here'), ref])
    expect(errorShape(direct)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(direct.stderr).toBe(`ctr: --hosts-dir ${join(f.dir, 'none-here')} does not exist\n`)
    const noMirror = await f.cli(f.namespace('direct'), ['images', 'pull', '--plain-http', ref])
    expect(noMirror.stderr).toMatch(/^ctr: tag 1 not found in /)
  }, 120_000)

  it('a mirror that is down, then one without the image, fall through to the registry (the _default dir)', async () => {
    const dir = await hostsDir('fallthrough', {
      '_default/hosts.toml': `server = "http://${origin.host}"\n[host."http://${closed}"]\n[host."http://${empty.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    })
    const ref = `${origin.host}/test/only-origin:1`
    const ns = f.namespace('fallthrough')
    const started = Date.now()
    await expectPulled(ns, ref, await f.cli(ns, ['images', 'pull', '--hosts-dir', dir, ref]))
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 60_000)

  it('when every host fails, one line names each host and what it said; exit 125, nothing left', async () => {
    const dir = await hostsDir('allfail', {
      [`${origin.host.replace(':', '_')}_/hosts.toml`]: `server = "http://${origin.host}"\n[host."http://${closed}"]\n[host."http://${empty.host}"]\n`,
    })
    const ns = f.namespace('allfail')
    const result = await f.cli(ns, ['images', 'pull', '--hosts-dir', dir, `${origin.host}/test/nowhere:1`])
    expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(result.stderr).toBe(
      `ctr: tag 1: no registry host could serve it: ${closed} (mirror): connection refused; ${empty.host} (mirror): not found; ${origin.host}: not found\n`,
    )
    await expectNothingLeft(ns)
  }, 60_000)

  it('a push goes to the first host that may push (not to a pull-only mirror)', async () => {
    const dir = await hostsDir('push', {
      [`${origin.host}/hosts.toml`]: `server = "http://${origin.host}"\n[host."http://${mirror.host}"]\n  capabilities = ["pull", "resolve"]\n[host."http://${empty.host}"]\n  capabilities = ["push"]\n`,
    })
    const ns = f.namespace('push')
    const ref = `${origin.host}/test/only-mirror:1`
    await expectPulled(ns, ref, await f.cli(ns, ['images', 'pull', '--hosts-dir', dir, ref]))
    const pushed = await f.cli(ns, ['images', 'push', '--hosts-dir', dir, `${origin.host}/test/pushed:1`, ref])
    expect(pushed.code, pushed.stderr).toBe(0)
    expect(await empty.inspectDigest('test/pushed:1')).toMatch(/^sha256:/)
    await expect(origin.inspectDigest('test/pushed:1')).rejects.toThrow()
    await expect(mirror.inspectDigest('test/pushed:1')).rejects.toThrow()
  }, 60_000)

  it('a hosts.toml that does not parse, or names an unknown capability, is one line naming the file', async () => {
    const dir = await hostsDir('bad', {[`${origin.host}/hosts.toml`]: `server = "http://${origin.host}"\n[host."http://x"\n`})
    const bad = await f.cli(f.namespace('bad'), ['images', 'pull', '--hosts-dir', dir, `${origin.host}/test/only-origin:1`])
    expect(errorShape(bad)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(bad.stderr).toMatch(new RegExp(`^ctr: ${join(dir, origin.host, 'hosts.toml')}: .*line 2`))
    await writeFile(join(dir, origin.host, 'hosts.toml'), `[host."http://${mirror.host}"]\n  capabilities = ["pull", "fetch"]\n`)
    const cap = await f.cli(f.namespace('bad'), ['images', 'pull', '--hosts-dir', dir, `${origin.host}/test/only-origin:1`])
    expect(cap.stderr).toBe(`ctr: ${join(dir, origin.host, 'hosts.toml')}: host "http://${mirror.host}": unknown capability "fetch" (pull, resolve, push)\n`)
  })
})

describe('images pull over TLS with a CA made here', () => {
  it('--tlscacert works; without it one line names the TLS problem; --skip-verify (-k) works', async () => {
    const ref = `${secure.host}/test/app:1`
    const ns = f.namespace('tls')
    const refused = await f.cli(ns, ['images', 'pull', ref])
    expect(errorShape(refused)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(refused.stderr).toBe(
      `ctr: registry ${secure.host}: TLS: certificate signed by unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE; trust its CA with --tlscacert or a hosts.toml "ca", or skip verification with --skip-verify) (tag 1)\n`,
    )
    await expectNothingLeft(ns)
    await expectPulled(ns, ref, await f.cli(ns, ['images', 'pull', '--tlscacert', join(pki, 'ca.pem'), ref]))
    const skip = f.namespace('tls-skip')
    await expectPulled(skip, ref, await f.cli(skip, ['images', 'pull', '--skip-verify', ref]))
    const k = f.namespace('tls-k')
    await expectPulled(k, ref, await f.cli(k, ['images', 'pull', '-k', ref]))
  }, 60_000)

  it('hosts.toml `ca` (relative to its dir) and docker certs.d `*.crt` are trusted', async () => {
    const ca = readFileSync(join(pki, 'ca.pem'), 'utf8')
    const toml = await hostsDir('tls-toml', {[`${secure.host}/hosts.toml`]: `ca = "my-ca.pem"\n`, [`${secure.host}/my-ca.pem`]: ca})
    const ref = `${secure.host}/test/app:1`
    const ns = f.namespace('tls-toml')
    await expectPulled(ns, ref, await f.cli(ns, ['images', 'pull', '--hosts-dir', toml, ref]))
    const certsD = await hostsDir('tls-certs-d', {[`${secure.host}/ca.crt`]: ca})
    const ns2 = f.namespace('tls-crt')
    await expectPulled(ns2, ref, await f.cli(ns2, ['images', 'pull', '--hosts-dir', certsD, ref]))
  }, 60_000)

  it('a client certificate: --tlscert/--tlskey reach a registry that wants one; without, one line says so', async () => {
    const ref = `${clientAuth.host}/test/none:1`
    const ns = f.namespace('tls-client')
    const without = await f.cli(ns, ['images', 'pull', '--tlscacert', join(pki, 'ca.pem'), ref])
    expect(errorShape(without)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    // TLS 1.3: the server's alert and its closing of the connection race; the client sees one or the other
    // (node:https reads the alert more often than fetch did, on a loaded machine). Both lines name the options.
    expect([
      `ctr: registry ${clientAuth.host}: the connection was closed before an answer (does it want a client certificate? --tlscert/--tlskey or a hosts.toml "client") (tag 1)\n`,
      `ctr: registry ${clientAuth.host}: TLS: the registry refused the connection (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE; a client certificate? --tlscert/--tlskey or a hosts.toml "client") (tag 1)\n`,
      `ctr: registry ${clientAuth.host}: TLS: the registry refused the connection (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED; a client certificate? --tlscert/--tlskey or a hosts.toml "client") (tag 1)\n`,
    ]).toContain(without.stderr)
    const withCert = await f.cli(ns, [
      'images',
      'pull',
      '--tlscacert',
      join(pki, 'ca.pem'),
      '--tlscert',
      join(pki, 'client.pem'),
      '--tlskey',
      join(pki, 'client.key'),
      ref,
    ])
    // Through TLS to the registry, which has no such image.
    expect(withCert.stderr).toBe(`ctr: tag 1 not found in ${clientAuth.host}/test/none (MANIFEST_UNKNOWN: manifest unknown)\n`)
    const half = await f.cli(ns, ['images', 'pull', '--tlscert', join(pki, 'client.pem'), ref])
    expect(errorShape(half)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(half.stderr).toMatch(/--tlskey/)
    await expectNothingLeft(ns)
  }, 60_000)

  it('refuses a hosts dir, or a CA file, that another user could change', async () => {
    const ca = readFileSync(join(pki, 'ca.pem'), 'utf8')
    const ref = `${secure.host}/test/app:1`
    const open = await hostsDir('tls-open', {[`${secure.host}/hosts.toml`]: `ca = "${join(f.dir, 'shared', 'ca.pem')}"\n`})
    await mkdir(join(f.dir, 'shared'), {mode: 0o777})
    await chmod(join(f.dir, 'shared'), 0o777)
    await writeFile(join(f.dir, 'shared', 'ca.pem'), ca)
    const shared = await f.cli(f.namespace('unsafe'), ['images', 'pull', '--hosts-dir', open, ref])
    expect(errorShape(shared)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
    expect(shared.stderr).toMatch(/^ctr: CA file .*shared\/ca\.pem: its directory .*shared is not safe to use: .* is writable by other users/)
    await chmod(open, 0o777)
    const dir = await f.cli(f.namespace('unsafe'), ['images', 'pull', '--hosts-dir', open, ref])
    expect(dir.stderr).toMatch(/^ctr: hosts directory .*tls-open is not safe to use: .* is writable by other users/)
  })
})
