/**
 * hosts.toml as containerd reads it (remotes/docker/config): hosts in file order, the registry itself last,
 * URLs and their API root, capabilities, CA and client files relative to the host dir, the certs.d files,
 * and the host dir chosen for HOST:PORT.
 */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseHostsToml, registryHosts} from '../../../src/lib/registry/hosts'

let root = ''
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctr-hosts-'))
})
afterAll(() => rm(root, {recursive: true, force: true}))

describe('parseHostsToml', () => {
  it('keeps the file order, appends /v2 unless override_path, the top level last', () => {
    const hosts = parseHostsToml(
      [
        'server = "https://registry.example.com"',
        'capabilities = ["pull"]',
        '[host."https://z.example.com/prefix/"]',
        '  capabilities = ["pull", "Resolve"]',
        '  ca = "ca.pem"',
        '  client = [["c.pem", "/abs/c.key"], "both.pem"]',
        '  header = {x-a = "1", x-b = ["2", "3"]}',
        '[host."a.example.com:5000"]',
        '  override_path = true',
        '  skip_verify = true',
      ].join('\n'),
      '/etc/containerd/certs.d/x',
    )
    expect(hosts.map((h) => [h.scheme, h.host, h.path, [...h.capabilities]])).toEqual([
      ['https', 'z.example.com', '/prefix/v2', ['pull', 'resolve']],
      ['https', 'a.example.com:5000', '', ['pull', 'resolve', 'push']],
      ['https', 'registry.example.com', '/v2', ['pull']],
    ])
    expect(hosts[0].caFiles).toEqual(['/etc/containerd/certs.d/x/ca.pem'])
    expect(hosts[0].clientPairs).toEqual([
      ['/etc/containerd/certs.d/x/c.pem', '/abs/c.key'],
      ['/etc/containerd/certs.d/x/both.pem', undefined],
    ])
    expect(hosts[0].header).toEqual({'x-a': ['1'], 'x-b': ['2', '3']})
    expect(hosts[1].skipVerify).toBe(true)
  })

  it('wrong types and unknown capabilities are errors naming the file and key', () => {
    expect(() => parseHostsToml('ca = 1', '/d')).toThrow('/d/hosts.toml: "ca" must be a file or a list of files')
    expect(() => parseHostsToml('[host."https://m"]\ncapabilities = ["pul"]', '/d')).toThrow(
      '/d/hosts.toml: host "https://m": unknown capability "pul" (pull, resolve, push)',
    )
    expect(() => parseHostsToml('server = [', '/d')).toThrow(/^\/d\/hosts.toml: .*\(line 1, column/)
  })
})

describe('registryHosts', () => {
  it('HOST_PORT_ before HOST:PORT before _default; the registry itself last with every capability', async () => {
    const dir = join(root, 'a')
    await mkdir(join(dir, '127.0.0.1_5000_'), {recursive: true, mode: 0o700})
    await mkdir(join(dir, '127.0.0.1:5000'), {mode: 0o700})
    await mkdir(join(dir, '_default'), {mode: 0o700})
    await writeFile(join(dir, '127.0.0.1_5000_', 'hosts.toml'), '[host."http://m1:1"]\ncapabilities = ["pull"]\n')
    await writeFile(join(dir, '127.0.0.1:5000', 'hosts.toml'), '[host."http://m2:1"]\n')
    await writeFile(join(dir, '_default', 'hosts.toml'), 'capabilities = ["pull"]\n[host."http://m3:1"]\n')
    const five = await registryHosts('127.0.0.1:5000', {hostsDir: dir, plainHttp: true})
    expect(five.map((h) => `${h.scheme}://${h.host}${h.path} ${[...h.capabilities]} ${h.origin}`)).toEqual([
      'http://m1:1/v2 pull false',
      'http://127.0.0.1:5000/v2 pull,resolve,push true',
    ])
    const docker = await registryHosts('docker.io', {hostsDir: dir})
    expect(docker.map((h) => `${h.scheme}://${h.host}${h.path} ${[...h.capabilities]}`)).toEqual([
      'http://m3:1/v2 pull,resolve,push',
      'https://registry-1.docker.io/v2 pull,resolve,push',
    ])
    expect(await registryHosts('docker.io', {hostsDir: false})).toHaveLength(1)
  })

  it('docker certs.d files: *.crt CAs, *.cert with its *.key; a file that is not PEM is one line', async () => {
    const dir = join(root, 'b')
    await mkdir(join(dir, 'r.example'), {recursive: true, mode: 0o700})
    await writeFile(join(dir, 'r.example', 'ca.crt'), 'not a certificate\n')
    await expect(registryHosts('r.example', {hostsDir: dir})).rejects.toThrow(`CA file ${join(dir, 'r.example', 'ca.crt')} has no PEM certificate`)
  })
})
