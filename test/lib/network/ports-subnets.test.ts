/** docker's -p syntax, and the subnet arithmetic of `networks create` (no root, no plugins). */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {describePort, parsePublish, samePort} from '../../../src/lib/network/ports'
import {firstFreeSubnet, formatSubnet, gatewayFor, hostRoutes, overlaps, parseSubnet} from '../../../src/lib/network/subnets'
import {pluginConfig} from '../../../src/lib/network/cni'

describe('parsePublish', () => {
  it.each([
    ['8080:80', {hostPort: 8080, containerPort: 80, protocol: 'tcp'}],
    ['127.0.0.1:8080:80', {hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp'}],
    ['0.0.0.0:53:53/udp', {hostPort: 53, containerPort: 53, protocol: 'udp'}],
    ['[::1]:8443:443/TCP', {hostIP: '::1', hostPort: 8443, containerPort: 443, protocol: 'tcp'}],
  ])('%s', (spec, mapping) => {
    expect(parsePublish(spec)).toEqual(mapping)
  })

  it.each([
    ['80', /invalid port publication "80": use \[IP:\]HOSTPORT:CONTAINERPORT\[\/tcp\|\/udp\]/],
    ['8080:80/sctp', /invalid protocol "sctp" in "8080:80\/sctp": use tcp or udp/],
    ['0:80', /invalid host port "0" in "0:80"/],
    ['8080:65536', /invalid container port "65536" in "8080:65536"/],
    ['8080-8081:80', /invalid host port "8080-8081"/],
    ['localhost:8080:80', /invalid host address "localhost" in "localhost:8080:80": use an IP address/],
    ['1.2.3.4:5:6:7', /invalid port publication/],
  ])('refuses %s in one line', (spec, message) => {
    let error: unknown
    try {
      parsePublish(spec)
    } catch (caught) {
      error = caught
    }
    expect(error).toMatchObject({kind: 'usage', message: expect.stringMatching(message)})
    expect((error as Error).message).not.toContain('\n')
  })

  it('tells which mappings want the same host port', () => {
    const all = parsePublish('8080:80')
    expect(samePort(all, parsePublish('127.0.0.1:8080:81'))).toBe(true)
    expect(samePort(parsePublish('127.0.0.2:8080:80'), parsePublish('127.0.0.1:8080:80'))).toBe(false)
    expect(samePort(all, parsePublish('8080:80/udp'))).toBe(false)
    expect(describePort(all)).toBe('*:8080/tcp')
    expect(describePort(parsePublish('[::1]:8080:80'))).toBe('[::1]:8080/tcp')
  })
})

describe('subnets', () => {
  it('parses, overlaps, picks gateways and the first free /24', () => {
    const net = parseSubnet('10.8.0.0/16')
    expect(formatSubnet(net)).toBe('10.8.0.0/16')
    expect(overlaps(net, parseSubnet('10.8.3.0/24'))).toBe(true)
    expect(overlaps(parseSubnet('10.9.0.0/24'), parseSubnet('10.8.3.0/24'))).toBe(false)
    expect(gatewayFor(parseSubnet('10.8.3.0/24'))).toBe('10.8.3.1')
    expect(() => gatewayFor(parseSubnet('10.8.3.0/24'), '10.8.3.255')).toThrow(/not a host address/)
    expect(formatSubnet(firstFreeSubnet([parseSubnet('10.8.0.0/23')])!)).toBe('10.8.2.0/24')
    expect(firstFreeSubnet([parseSubnet('10.0.0.0/8')])).toBeUndefined()
    expect(() => parseSubnet('10.8.0.0/31')).toThrow(/too small/)
  })

  it('reads the host routes from /proc/net/route (little-endian hex), skipping default routes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'routes-'))
    try {
      const file = join(dir, 'route')
      await writeFile(
        file,
        'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
          'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
          'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
          'br0\t0000110A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n',
      )
      expect((await hostRoutes(file)).map((route) => [route.iface, formatSubnet(route.subnet)])).toEqual([
        ['eth0', '192.0.2.0/24'],
        ['br0', '10.17.0.0/16'],
      ])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('pluginConfig', () => {
  it("gives each plugin the list's name and version, prevResult, and portMappings only by capability", () => {
    const list = {cniVersion: '1.0.0', name: 'n', plugins: [{type: 'bridge'}, {type: 'portmap', capabilities: {portMappings: true}}]}
    const attachment = {containerId: 'c', netns: '/x', ifName: 'eth0', portMappings: [parsePublish('8080:80')]}
    expect(pluginConfig(list, list.plugins[0], attachment)).toEqual({type: 'bridge', cniVersion: '1.0.0', name: 'n'})
    expect(pluginConfig(list, list.plugins[1], attachment, {ips: []})).toEqual({
      type: 'portmap',
      capabilities: {portMappings: true},
      cniVersion: '1.0.0',
      name: 'n',
      prevResult: {ips: []},
      runtimeConfig: {portMappings: [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}]},
    })
  })
})
