/**
 * ctr's CNI library (src/lib/network) with the real plugins (Debian's containernetworking-plugins) against
 * network namespaces the test makes itself (`ip netns add`, unique names, removed at the end), on a network
 * of its own in a private configuration directory. Traffic goes only to 127.0.0.1 and to those namespaces.
 * After every test: no veth on the bridge, no new iptables rule, no host-local lease, no record.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {attachNetworks, detachNetworks, readAttachment} from '../../src/lib/network/attach'
import {DEFAULT_PLUGIN_DIRS} from '../../src/lib/network/cni'
import {createNetns, removeNetns as removePinned} from '../../src/lib/network/netns'
import {createNetwork, type NetworkPaths, removeNetwork} from '../../src/lib/network/networks'
import {parsePublish} from '../../src/lib/network/ports'
import {uniqueName} from '../helpers/daemon'
import {addNetns, bridgePorts, inNetns, iptablesLines, leases, newRules, records, removeNetns} from '../helpers/network'
import {freePort} from '../helpers/registry'

const tag = uniqueName('ctrt')
  .replace(/[^a-z0-9]/gi, '')
  .slice(-10)
const network = `ctrt-${tag}`
const namespace = 'ctrt'
let root: string
let paths: NetworkPaths
let bridge: string
let subnetPrefix: string
const made: string[] = []
let rulesBefore: Set<string>

async function netns(suffix: string): Promise<{name: string; path: string}> {
  const name = `ctrt-${tag}-${suffix}`
  made.push(name)
  return {name, path: await addNetns(name)}
}

const firstAddress = (attached: Awaited<ReturnType<typeof attachNetworks>>): string => attached.networks[0].addresses[0].split('/')[0]

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctrt-net-'))
  paths = {confDir: join(root, 'conf'), stateDir: join(root, 'state'), pluginDirs: DEFAULT_PLUGIN_DIRS}
  // A subnet of its own, clear of other test files' (createNetwork refuses one in use: then try another).
  for (let attempt = 0; ; attempt++) {
    const third = Math.floor(Math.random() * 250)
    const second = 200 + Math.floor(Math.random() * 50)
    try {
      const info = await createNetwork(paths, network, {subnet: `10.${second}.${third}.0/24`})
      bridge = info.bridge!
      subnetPrefix = `10.${second}.${third}.`
      break
    } catch (error) {
      if (attempt > 20) throw error
    }
  }
})

afterAll(async () => {
  for (const name of made) await removeNetns(name)
  await removeNetwork(paths, network, async () => [])
  await rm(root, {recursive: true, force: true})
  // networks rm took the bridge device and host-local's directory with it.
  expect(await stat(`/sys/class/net/${bridge}`).catch(() => undefined)).toBeUndefined()
  expect(await stat(`/var/lib/cni/networks/${network}`).catch(() => undefined)).toBeUndefined()
})

beforeEach(async () => {
  rulesBefore = await iptablesLines()
})

afterEach(async () => {
  expect(await bridgePorts(bridge)).toEqual([])
  expect(newRules(rulesBefore, await iptablesLines())).toEqual([])
  expect(await leases(network)).toEqual([])
  expect(await records(paths.stateDir)).toEqual([])
})

describe('attachNetworks / detachNetworks with the real plugins', () => {
  it('two namespaces on one network reach each other; detach takes the veths, rules, leases and records away', async () => {
    const a = await netns('a')
    const b = await netns('b')
    const first = await attachNetworks({namespace, containerId: 'a', netns: a.path, networks: [network], paths})
    const second = await attachNetworks({namespace, containerId: 'b', netns: b.path, networks: [network], paths})
    const [addressA, addressB] = [firstAddress(first), firstAddress(second)]
    expect(addressA.startsWith(subnetPrefix)).toBe(true)
    expect(addressB.startsWith(subnetPrefix)).toBe(true)
    expect(addressA).not.toBe(addressB)
    expect(first.networks[0]).toMatchObject({name: network, ifName: 'eth0', gateways: [`${subnetPrefix}1`]})
    expect((await bridgePorts(bridge)).length).toBe(2)
    expect(await leases(network)).toEqual([addressA, addressB].sort())
    expect((await readAttachment(namespace, 'a', paths))?.networks[0].result?.ips?.[0].address).toBe(first.networks[0].addresses[0])
    await inNetns(a.name, ['/bin/busybox', 'ping', '-c', '1', '-W', '3', addressB])
    await inNetns(b.name, ['/bin/busybox', 'ping', '-c', '1', '-W', '3', addressA])

    expect(await detachNetworks(namespace, 'a', paths)).toEqual([network])
    expect(await detachNetworks(namespace, 'b', paths)).toEqual([network])
    // Idempotent: a second detach finds no record and does nothing.
    expect(await detachNetworks(namespace, 'a', paths)).toEqual([])
  })

  it('a published port serves busybox httpd in the namespace on 127.0.0.1:HOSTPORT', async () => {
    const web = await netns('web')
    const hostPort = await freePort()
    const docroot = join(root, 'www')
    await mkdir(docroot, {recursive: true})
    await writeFile(join(docroot, 'index.html'), `hello from ${tag}\n`)
    const attached = await attachNetworks({
      namespace,
      containerId: 'web',
      netns: web.path,
      networks: [network],
      portMappings: [parsePublish(`127.0.0.1:${hostPort}:80`)],
      paths,
    })
    expect(attached.portMappings).toEqual([{hostIP: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp'}])
    let httpd: ChildProcess | undefined
    try {
      httpd = spawn('/usr/sbin/ip', ['netns', 'exec', web.name, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', docroot], {stdio: 'ignore'})
      let body = ''
      for (let tries = 0; tries < 50 && !body; tries++) {
        body = await fetch(`http://127.0.0.1:${hostPort}/`, {signal: AbortSignal.timeout(2000)}).then(
          (response) => response.text(),
          () => new Promise<string>((resolve) => setTimeout(() => resolve(''), 100)),
        )
      }
      expect(body).toBe(`hello from ${tag}\n`)
    } finally {
      if (httpd?.pid) process.kill(httpd.pid, 'SIGKILL')
      await detachNetworks(namespace, 'web', paths)
    }
    // The port is free again: a host process can take it.
    const server = createServer()
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(hostPort, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('a host port that is taken is a one-line error naming it, and nothing is left', async () => {
    const holder: Server = createServer()
    const hostPort = await freePort()
    await new Promise<void>((resolve) => holder.listen(hostPort, '127.0.0.1', resolve))
    const c = await netns('busy')
    try {
      const error = await attachNetworks({
        namespace,
        containerId: 'busy',
        netns: c.path,
        networks: [network],
        portMappings: [parsePublish(`127.0.0.1:${hostPort}:80`)],
        paths,
      }).catch((e: Error) => e)
      expect(error).toMatchObject({kind: 'already-exists', message: `host port 127.0.0.1:${hostPort}/tcp is already in use`})
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()))
    }
    // A port another attachment publishes (DNAT, no socket) is refused too, naming that container.
    const d = await netns('pub')
    const other = await freePort()
    await attachNetworks({namespace, containerId: 'pub', netns: d.path, networks: [network], portMappings: [parsePublish(`${other}:80/udp`)], paths})
    try {
      const error = await attachNetworks({
        namespace,
        containerId: 'busy',
        netns: c.path,
        networks: [network],
        portMappings: [parsePublish(`127.0.0.1:${other}:81/udp`)],
        paths,
      }).catch((e: Error) => e)
      expect(error).toMatchObject({kind: 'already-exists', message: `host port 127.0.0.1:${other}/udp is already published by container ${namespace}/pub`})
      expect(await readAttachment(namespace, 'busy', paths)).toBeUndefined()
    } finally {
      await detachNetworks(namespace, 'pub', paths)
    }
  })

  it('20 concurrent attaches on one network all succeed with distinct addresses', async () => {
    const spaces = await Promise.all(Array.from({length: 20}, (_, index) => netns(`c${index}`)))
    const results = await Promise.allSettled(
      spaces.map((space, index) => attachNetworks({namespace, containerId: `c${index}`, netns: space.path, networks: [network], paths})),
    )
    try {
      expect(results.filter((result) => result.status === 'rejected')).toEqual([])
      const addresses = results.map((result) => (result.status === 'fulfilled' ? firstAddress(result.value) : ''))
      expect(new Set(addresses).size).toBe(20)
      expect((await bridgePorts(bridge)).length).toBe(20)
    } finally {
      await Promise.all(spaces.map((_, index) => detachNetworks(namespace, `c${index}`, paths)))
    }
  })

  it('a plugin failing mid-chain rolls the whole attachment back', async () => {
    const broken = `ctrt-${tag}-bad`
    const confList = {
      cniVersion: '1.0.0',
      name: broken,
      plugins: [
        {type: 'bridge', bridge, isGateway: true, ipam: {type: 'host-local', ranges: [[{subnet: `${subnetPrefix}0/24`}]]}},
        {type: 'tuning', sysctl: {'net.ipv4.conf.IFNAME.no_such_setting': '1'}},
      ],
    }
    await writeFile(join(paths.confDir, `${broken}.conflist`), JSON.stringify(confList))
    const space = await netns('bad')
    try {
      const error = await attachNetworks({namespace, containerId: 'bad', netns: space.path, networks: [network, broken], paths}).catch((e: Error) => e)
      expect(error).toMatchObject({message: expect.stringMatching(new RegExp(`^network "${broken}": CNI plugin tuning \\(ADD\\) failed: [^\\n]+$`))})
      expect(await readAttachment(namespace, 'bad', paths)).toBeUndefined()
      expect(await leases(broken)).toEqual([])
    } finally {
      await rm(join(paths.confDir, `${broken}.conflist`), {force: true})
      await rm(join('/var/lib/cni/networks', broken), {recursive: true, force: true})
    }
  })

  it('a record left by a ctr killed during the first plugin (ADD begun, no result saved) is completed by the next detach', async () => {
    // The record keeps each plugin's result as the ADD goes (onResult), so only a ctr killed during the first
    // plugin leaves none: here the bridge's veth, address, masquerade rules and lease, which its DEL finds
    // from the namespace. (The firewall plugin's DEL needs a prevResult: it runs after the first result.)
    const short = `ctrt-${tag}-br`
    const confList = {
      cniVersion: '1.0.0',
      name: short,
      plugins: [{type: 'bridge', bridge, isGateway: true, ipMasq: true, ipam: {type: 'host-local', ranges: [[{subnet: `${subnetPrefix}0/24`}]]}}],
    }
    await writeFile(join(paths.confDir, `${short}.conflist`), JSON.stringify(confList))
    const space = await netns('killed')
    try {
      await attachNetworks({namespace, containerId: 'killed', netns: space.path, networks: [short], paths})
      expect(await leases(short)).toHaveLength(1)
      const file = join(paths.stateDir, namespace, 'killed.json')
      const record = JSON.parse(await readFile(file, 'utf8'))
      delete record.networks[0].result
      await writeFile(file, JSON.stringify(record), {mode: 0o600})
      expect(await detachNetworks(namespace, 'killed', paths)).toEqual([short])
      expect(await leases(short)).toEqual([])
    } finally {
      await rm(join(paths.confDir, `${short}.conflist`), {force: true})
      await rm(join('/var/lib/cni/networks', short), {recursive: true, force: true})
    }
  })

  it("ctr's pinned namespace: created, attached, detached, removed", async () => {
    const path = await createNetns(namespace, `pin-${tag}`, join(root, 'netns'))
    try {
      expect(await createNetns(namespace, `pin-${tag}`, join(root, 'netns'))).toBe(path)
      const attached = await attachNetworks({namespace, containerId: 'pin', netns: path, networks: [network], paths})
      expect(firstAddress(attached).startsWith(subnetPrefix)).toBe(true)
      expect((await bridgePorts(bridge)).length).toBe(1)
      await detachNetworks(namespace, 'pin', paths)
    } finally {
      await removePinned(namespace, `pin-${tag}`, join(root, 'netns'))
    }
    expect(await stat(path).catch(() => undefined)).toBeUndefined()
    await removePinned(namespace, `pin-${tag}`, join(root, 'netns'))
  })
})
