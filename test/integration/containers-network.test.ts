/**
 * `containers start --net / -p` (issue 23) with the real CNI plugins and the suite's private containerd: a
 * network of the test's own (its own conflist directory, state directory, bridge and subnet), busybox images
 * built by the test. Traffic goes only to 127.0.0.1 and to the containers' addresses. After every test: no
 * container, no veth on the bridge, no new iptables rule, no host-local lease, no record, no pinned netns.
 */
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, writeOciArchive} from '../helpers/image-archive'
import {errorShape, leftovers} from '../helpers/leftovers'
import {bridgePorts, iptablesLines, leases, newRules, records} from '../helpers/network'
import {spawnCli} from '../helpers/run-cli'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'
import {freePort} from '../helpers/registry'

const IMAGE = 'docker.io/library/netbox:1'
let f: ImagesFixture
let ns: string
let root: string
let env: Record<string, string>
let network: string
let bridge: string
let subnetPrefix: string
let rulesBefore: Set<string>

const cli = (args: string[], timeoutMs = 60_000) => f.cli(ns, args, {env, timeoutMs})

async function fetchText(url: string): Promise<string> {
  for (let tries = 0; tries < 50; tries++) {
    const body = await fetch(url, {signal: AbortSignal.timeout(2000)}).then(
      (response) => response.text(),
      () => undefined,
    )
    if (body !== undefined) return body
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no answer from ${url}`)
}

const netnsFiles = async (): Promise<string[]> => (await readdir(`/run/ctr/netns/${ns}`).catch(() => [] as string[])).sort()
const attached = async (id: string): Promise<{addresses: string[]; ports: unknown[]}> => {
  const result = await cli(['containers', 'info', id])
  expect(result.code, result.stderr).toBe(0)
  const info = JSON.parse(result.stdout) as {network: {networks: Array<{addresses: string[]}>; portMappings: unknown[]} | null}
  return {addresses: info.network?.networks.flatMap((n) => n.addresses) ?? [], ports: info.network?.portMappings ?? []}
}
const exec = (id: string, command: string[]) => cli(['containers', 'exec', '--id', id, '-a', '--', '/bin/busybox', ...command])

beforeAll(async () => {
  f = await setupImagesFixture('network')
  ns = f.namespace('n')
  root = await mkdtemp(join(tmpdir(), 'ctrt-cnet-'))
  env = {CNI_CONF_DIR: join(root, 'conf'), CTR_NET_DIR: join(root, 'state')}
  const archive = join(f.dir, 'netbox.tar')
  await writeOciArchive(archive, [{image: await buildImage({layers: [await busyboxLayer()], config: {Env: ['PATH=/bin'], Cmd: ['sh']}}), name: IMAGE}])
  const imported = await cli(['images', 'import', archive])
  expect(imported.code, imported.stderr).toBe(0)
  network = `ctrt-${Math.random().toString(36).slice(2, 10)}`
  for (let attempt = 0; ; attempt++) {
    const [second, third] = [200 + Math.floor(Math.random() * 50), Math.floor(Math.random() * 250)]
    const created = await cli(['networks', 'create', network, '--subnet', `10.${second}.${third}.0/24`, '--json'])
    if (created.code === 0) {
      bridge = (JSON.parse(created.stdout) as {bridge: string}).bridge
      subnetPrefix = `10.${second}.${third}.`
      break
    }
    if (attempt > 20) throw new Error(created.stderr)
  }
}, 120_000)

afterAll(async () => {
  // After a failed test: ctr's delete tears its networks down while their records are still there.
  const ids = (await cli(['containers', '-q'])).stdout.split('\n').filter(Boolean)
  if (ids.length) await cli(['containers', 'delete', '--force', ...ids], 120_000)
  if (network) expect((await cli(['networks', 'rm', network])).stderr).toBe('')
  await rm(root, {recursive: true, force: true})
  await f?.cleanup()
})

beforeEach(async () => {
  rulesBefore = await iptablesLines()
})

afterEach(async () => {
  expect(await leftovers(f.address, ns, undefined)).toEqual([])
  expect(await bridgePorts(bridge)).toEqual([])
  expect(newRules(rulesBefore, await iptablesLines())).toEqual([])
  expect(await leases(network)).toEqual([])
  expect(await records(env.CTR_NET_DIR)).toEqual([])
  expect(await netnsFiles()).toEqual([])
})

describe('containers start --net / -p', () => {
  it('-p 127.0.0.1:HOSTPORT:80 serves busybox httpd from the host; info shows address and port; delete --force leaves nothing', async () => {
    const hostPort = await freePort()
    const started = await cli([
      'containers',
      'start',
      '--net',
      network,
      '-p',
      `127.0.0.1:${hostPort}:80`,
      'web',
      IMAGE,
      '/bin/busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/etc',
    ])
    expect(started.code, started.stderr).toBe(0)
    expect(await fetchText(`http://127.0.0.1:${hostPort}/hostname`)).toBe('web\n')
    const {addresses, ports} = await attached('web')
    expect(addresses).toHaveLength(1)
    expect(addresses[0].startsWith(subnetPrefix)).toBe(true)
    expect(ports).toEqual([{hostIP: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp'}])
    expect(await netnsFiles()).toEqual(['web'])
    // /etc/hosts names the container at its address; resolv.conf has no loopback name server.
    const hosts = await exec('web', ['cat', '/etc/hosts'])
    expect(hosts.stdout).toContain(`${addresses[0].split('/')[0]}\tweb`)
    expect((await exec('web', ['cat', '/etc/resolv.conf'])).stdout).not.toMatch(/nameserver\s+127\./)
    const listed = JSON.parse((await cli(['containers', '--json'])).stdout) as Array<{id: string; network?: {portMappings: unknown[]}}>
    expect(listed.find((c) => c.id === 'web')?.network?.portMappings).toEqual(ports)
    const deleted = await cli(['containers', 'delete', '--force', 'web'])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(
      await fetch(`http://127.0.0.1:${hostPort}/`, {signal: AbortSignal.timeout(1000)}).then(
        () => 'answered',
        () => 'refused',
      ),
    ).toBe('refused')
  })

  it('two containers on one network reach each other', async () => {
    for (const id of ['a', 'b']) {
      const started = await cli(['containers', 'start', '--network', network, id, IMAGE, '/bin/busybox', 'sleep', '60'])
      expect(started.code, started.stderr).toBe(0)
    }
    const b = (await attached('b')).addresses[0].split('/')[0]
    const a = (await attached('a')).addresses[0].split('/')[0]
    expect(a).not.toBe(b)
    const ping = await exec('a', ['ping', '-c', '1', '-W', '3', b])
    expect(ping.code, ping.stdout + ping.stderr).toBe(0)
    expect((await exec('b', ['ping', '-c', '1', '-W', '3', a])).code).toBe(0)
    expect((await cli(['containers', 'delete', '--force', 'a', 'b'])).code).toBe(0)
  })

  it('--net none has only lo; --net host (and --net-host) sees the host interfaces', async () => {
    const none = await cli(['containers', 'start', '-a', '--rm', '--net', 'none', 'none1', IMAGE, '/bin/busybox', 'cat', '/proc/net/dev'])
    expect(none.code, none.stderr).toBe(0)
    const names = (text: string) =>
      text
        .split('\n')
        .slice(2)
        .map((line) => line.split(':')[0].trim())
        .filter(Boolean)
        .sort()
    expect(names(none.stdout)).toEqual(['lo'])
    const hostDevices = names(await (await import('node:fs/promises')).readFile('/proc/net/dev', 'utf8'))
    for (const flag of [['--net', 'host'], ['--net-host']]) {
      const host = await cli(['containers', 'start', '-a', '--rm', ...flag, 'host1', IMAGE, '/bin/busybox', 'cat', '/proc/net/dev'])
      expect(host.code, host.stderr).toBe(0)
      expect(names(host.stdout)).toEqual(expect.arrayContaining(hostDevices.filter((name) => !name.startsWith('veth')).slice(0, 3)))
      expect(names(host.stdout).length).toBeGreaterThan(1)
    }
  })

  it('a taken host port is one line, exit 125, and nothing is left', async () => {
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    try {
      const result = await cli(['containers', 'start', '--net', network, '-p', `127.0.0.1:${port}:80`, 'busy', IMAGE, '/bin/busybox', 'sleep', '60'])
      expect(errorShape(result)).toEqual({code: 125, lines: 1, oneLine: true, stack: false})
      expect(result.stderr).toContain(`127.0.0.1:${port}/tcp`)
    } finally {
      server.close()
    }
  })

  it("restart and stop + start keep the container's network: same address, the published port serves again", async () => {
    const hostPort = await freePort()
    const args = ['--net', network, '-p', `127.0.0.1:${hostPort}:80`, 'again', IMAGE, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']
    expect((await cli(['containers', 'start', ...args])).code).toBe(0)
    expect(await fetchText(`http://127.0.0.1:${hostPort}/hostname`)).toBe('again\n')
    const before = (await attached('again')).addresses
    const restarted = await cli(['containers', 'restart', '-t', '1', 'again'])
    expect(restarted.code, restarted.stderr).toBe(0)
    expect(await fetchText(`http://127.0.0.1:${hostPort}/hostname`)).toBe('again\n')
    expect((await cli(['containers', 'stop', '-t', '1', 'again'])).code).toBe(0)
    expect((await cli(['containers', 'start', 'again'])).code).toBe(0)
    expect(await fetchText(`http://127.0.0.1:${hostPort}/hostname`)).toBe('again\n')
    expect((await attached('again')).addresses).toEqual(before)
    const deleted = await cli(['containers', 'delete', '--force', 'again'])
    expect(deleted.code, deleted.stderr).toBe(0)
  })

  it('20 concurrent starts (ctr processes) with -p on distinct ports all succeed with distinct addresses', async () => {
    const ids = Array.from({length: 20}, (_, k) => `par${k}`)
    const ports = await Promise.all(ids.map(() => freePort()))
    const results = await Promise.all(
      ids.map((id, k) => cli(['containers', 'start', '--net', network, '-p', `127.0.0.1:${ports[k]}:80`, id, IMAGE, '/bin/busybox', 'sleep', '60'], 120_000)),
    )
    expect(results.map((r) => r.stderr).filter(Boolean)).toEqual([])
    const addresses = await Promise.all(ids.map(async (id) => (await attached(id)).addresses[0]))
    expect(new Set(addresses).size).toBe(ids.length)
    const deleted = await cli(['containers', 'delete', '--force', ...ids], 120_000)
    expect(deleted.code, deleted.stderr).toBe(0)
  }, 240_000)

  it('a ctr killed with SIGKILL mid-start: the next delete cleans everything', async () => {
    // Killed at increasing points of the start, until one is killed with the network set up.
    const deletes: string[] = []
    let killedWithNetwork = 0
    for (const delay of [250, 400, 550, 700, 900]) {
      const child = spawnCli(
        ['containers', 'start', '--net', network, '-p', `127.0.0.1:${await freePort()}:80`, 'killed', IMAGE, '/bin/busybox', 'sleep', '60'],
        {
          address: f.address,
          namespace: ns,
          env,
        },
      )
      const exited = new Promise((resolve) => child.on('exit', resolve))
      await new Promise((resolve) => setTimeout(resolve, delay))
      child.kill('SIGKILL')
      await exited
      const withNetwork = (await records(env.CTR_NET_DIR)).length > 0
      if (withNetwork) killedWithNetwork++
      const started = Date.now()
      const deleted = await cli(['containers', 'delete', '--force', 'killed'], 30_000)
      deletes.push(`${delay}: ${deleted.code} ${Date.now() - started}ms ${deleted.stderr.trim()}`)
      // Killed before it made anything (a loaded machine is slow to get there): nothing to delete, as Go ctr says.
      const nothingMade = !withNetwork && deleted.code === 125 && /container "killed" not found/.test(deleted.stderr)
      if (!nothingMade) expect(deleted.code, deletes.at(-1)).toBe(0)
      expect(await records(env.CTR_NET_DIR)).toEqual([])
      expect(await netnsFiles()).toEqual([])
      expect(await bridgePorts(bridge)).toEqual([])
    }
    // At least one kill hit a start with its network set up (else this test proved nothing).
    expect(killedWithNetwork).toBeGreaterThan(0)
  }, 120_000)
})

// The library's --rm path tears down too (runContainer deletes the container itself).
it('--rm on a network leaves nothing', async () => {
  const result = await cli(['containers', 'start', '-a', '--rm', '--net', network, 'rm1', IMAGE, '/bin/busybox', 'ip', '-o', 'addr'])
  expect(result.code, result.stderr).toBe(0)
  expect(result.stdout).toContain(subnetPrefix)
})
