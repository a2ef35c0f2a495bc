/**
 * `ctr networks` (list), `networks create`, `networks rm` through the built CLI, on a private configuration
 * directory ($CNI_CONF_DIR) and state directory ($CTR_NET_DIR): the conflist it writes, subnets that
 * collide (a route of the host, another network), names taken or reserved, and a network a container uses
 * (an attachment made through the library into a namespace the test made) refused with the container named.
 */
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {attachNetworks, detachNetworks} from '../../src/lib/network/attach'
import {DEFAULT_PLUGIN_DIRS} from '../../src/lib/network/cni'
import {hostRoutes, formatSubnet} from '../../src/lib/network/subnets'
import {uniqueName} from '../helpers/daemon'
import {addNetns, bridgePorts, leases, records, removeNetns} from '../helpers/network'
import {runCli} from '../helpers/run-cli'
import {expectOneLineError} from './containers-fixture'

const tag = uniqueName('ctrn')
  .replace(/[^a-z0-9]/gi, '')
  .slice(-10)
const web = `ctrn-${tag}-web`
const db = `ctrn-${tag}-db`
const netnsName = `ctrn-${tag}`
let root: string
let env: Record<string, string>
const cli = (args: string[]) => runCli(args, {env})
const second = 200 + Math.floor(Math.random() * 50)
const third = Math.floor(Math.random() * 250)
const webSubnet = `10.${second}.${third}.0/25`

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ctrn-'))
  env = {CNI_CONF_DIR: join(root, 'conf'), CTR_NET_DIR: join(root, 'state')}
})

afterAll(async () => {
  await detachNetworks('ctrn', 'user', {confDir: env.CNI_CONF_DIR, stateDir: env.CTR_NET_DIR, pluginDirs: DEFAULT_PLUGIN_DIRS}).catch(() => undefined)
  await removeNetns(netnsName)
  await cli(['networks', 'rm', web, db])
  await rm(root, {recursive: true, force: true})
})

describe('ctr networks', () => {
  it('create writes a conflist with the chain, subnet and gateway; the list shows it (table, -q, --json)', async () => {
    expect(await cli(['networks', 'create', '--subnet', webSubnet, '--gateway', `10.${second}.${third}.126`, web])).toMatchObject({
      code: 0,
      stdout: `${web}\n`,
      stderr: '',
    })
    const written = JSON.parse(await readFile(join(env.CNI_CONF_DIR, `${web}.conflist`), 'utf8'))
    expect(written.name).toBe(web)
    expect(written.plugins.map((plugin: {type: string}) => plugin.type)).toEqual(['bridge', 'portmap', 'firewall', 'tuning'])
    expect(written.plugins[0]).toMatchObject({
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: {type: 'host-local', ranges: [[{subnet: webSubnet, gateway: `10.${second}.${third}.126`}]]},
    })
    expect(written.plugins[1].capabilities).toEqual({portMappings: true})

    // A network ctr did not make (a .conf of one plugin) is listed too, marked as not ctr's.
    await writeFile(
      join(env.CNI_CONF_DIR, 'zz-other.conf'),
      JSON.stringify({cniVersion: '0.4.0', name: `ctrn-${tag}-other`, type: 'bridge', bridge: 'ctrnx0', ipam: {type: 'host-local', subnet: '10.199.0.0/24'}}),
    )
    const table = await cli(['networks'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^NAME\s+SUBNET\s+BRIDGE\s+CTR$/m)
    expect(table.stdout).toMatch(new RegExp(`^${web}\\s+${webSubnet.replace(/\./g, '\\.')}\\s+ctr-[0-9a-f]{8}\\s+yes$`, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^ctrn-${tag}-other\\s+10\\.199\\.0\\.0/24\\s+ctrnx0\\s+no$`, 'm'))
    expect((await cli(['networks', '-q'])).stdout).toBe(`${web}\nctrn-${tag}-other\n`)
    const json = JSON.parse((await cli(['networks', '--json'])).stdout)
    expect(json[0]).toMatchObject({name: web, subnets: [webSubnet], ctrMade: true, plugins: ['bridge', 'portmap', 'firewall', 'tuning']})

    // Without --subnet: the first free 10.8.N.0/24.
    expect((await cli(['networks', 'create', db])).code).toBe(0)
    expect(JSON.parse((await cli(['networks', '--json'])).stdout).find((n: {name: string}) => n.name === db).subnets[0]).toMatch(/^10\.8\.\d+\.0\/24$/)

    expectOneLineError(
      await cli(['networks', 'rm', `ctrn-${tag}-other`]),
      new RegExp(`network "ctrn-${tag}-other" was not made by ctr: remove .*zz-other\\.conf yourself`),
    )
    await rm(join(env.CNI_CONF_DIR, 'zz-other.conf'))
  })

  it('refuses bad subnets, colliding subnets, taken and reserved names, each in one line, writing nothing', async () => {
    const route = (await hostRoutes())[0]
    expect(route, 'the host has a non-default route').toBeDefined()
    expectOneLineError(
      await cli(['networks', 'create', '--subnet', formatSubnet(route.subnet), `ctrn-${tag}-x`]),
      new RegExp(`collides with a route of the host \\(.* on ${route.iface}\\)`),
    )
    expectOneLineError(
      await cli(['networks', 'create', '--subnet', `10.${second}.${third}.64/26`, `ctrn-${tag}-x`]),
      new RegExp(`collides with network "${web}"`),
    )
    expectOneLineError(
      await cli(['networks', 'create', '--subnet', '10.1.2.3/24', `ctrn-${tag}-x`]),
      /invalid subnet "10\.1\.2\.3\/24": host bits are set \(did you mean 10\.1\.2\.0\/24\?\)/,
    )
    expectOneLineError(await cli(['networks', 'create', '--subnet', 'fd00::/64', `ctrn-${tag}-x`]), /invalid subnet "fd00::\/64"/)
    expectOneLineError(
      await cli(['networks', 'create', '--subnet', '10.251.0.0/24', '--gateway', '10.252.0.1', `ctrn-${tag}-x`]),
      /gateway 10\.252\.0\.1 is not a host address of 10\.251\.0\.0\/24/,
    )
    expectOneLineError(await cli(['networks', 'create', web]), new RegExp(`network "${web}" already exists`))
    expectOneLineError(await cli(['networks', 'create', 'host']), /network name "host" is reserved/)
    expectOneLineError(await cli(['networks', 'create', '../x']), /invalid network name "\.\.\/x"/)
    expectOneLineError(await cli(['networks', 'rm', `ctrn-${tag}-nope`]), new RegExp(`network "ctrn-${tag}-nope" not found`))
    expect((await cli(['networks', '-q'])).stdout.split('\n').filter(Boolean).sort()).toEqual([db, web].sort())
  })

  it('rm refuses a network a container uses, naming it; removes it once detached, with its bridge', async () => {
    const paths = {confDir: env.CNI_CONF_DIR, stateDir: env.CTR_NET_DIR, pluginDirs: DEFAULT_PLUGIN_DIRS}
    const netns = await addNetns(netnsName)
    await attachNetworks({namespace: 'ctrn', containerId: 'user', netns, networks: [web], paths})
    const bridge = JSON.parse((await cli(['networks', '--json'])).stdout).find((n: {name: string}) => n.name === web).bridge
    expect((await bridgePorts(bridge)).length).toBe(1)
    expectOneLineError(await cli(['networks', 'rm', web]), new RegExp(`network "${web}" is used by container ctrn/user$`, 'm'))
    expect(await stat(join(env.CNI_CONF_DIR, `${web}.conflist`))).toBeTruthy()

    await detachNetworks('ctrn', 'user', paths)
    expect(await cli(['networks', 'rm', web, db])).toMatchObject({code: 0, stdout: `${web}\n${db}\n`, stderr: ''})
    expect(await stat(`/sys/class/net/${bridge}`).catch(() => undefined)).toBeUndefined()
    expect(await stat(`/var/lib/cni/networks/${web}`).catch(() => undefined)).toBeUndefined()
    expect(await leases(web)).toEqual([])
    expect(await records(env.CTR_NET_DIR)).toEqual([])
    expect((await cli(['networks', '-q'])).stdout).toBe('')
  })
})
