import {describe, expect, it} from 'vitest'

import {
  ALL_PLATFORMS,
  compatiblePlatforms,
  defaultMatcher,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  strictMatcher,
} from '../../../src/lib/images/platform'

const amd64 = {os: 'linux', architecture: 'amd64'}

describe('parsePlatform (as containerd platforms.Parse)', () => {
  it.each([
    ['linux/amd64', {os: 'linux', architecture: 'amd64'}],
    ['linux/x86_64', {os: 'linux', architecture: 'amd64'}],
    ['Linux/AARCH64', {os: 'linux', architecture: 'arm64'}],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64'}],
    ['linux/arm', {os: 'linux', architecture: 'arm', variant: 'v7'}],
    ['linux/armhf', {os: 'linux', architecture: 'arm', variant: 'v7'}],
    ['linux/arm/v6', {os: 'linux', architecture: 'arm', variant: 'v6'}],
    ['linux/i386', {os: 'linux', architecture: '386'}],
    ['windows/amd64', {os: 'windows', architecture: 'amd64'}],
    ['linux', {os: 'linux', architecture: 'amd64'}],
    ['arm64', {os: 'linux', architecture: 'arm64'}],
    ['linux/amd64/v3', {os: 'linux', architecture: 'amd64', variant: 'v3'}],
  ])('%s', (text, expected) => {
    expect(parsePlatform(text, amd64)).toEqual(expected)
  })

  it.each([
    ['foo', /invalid platform "foo": unknown operating system or architecture/],
    ['linux/*', /wildcards/],
    ['linux/am d64', /not a valid component/],
    ['a/b/c/d', /use os, arch/],
    ['', /not a valid component/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePlatform(text, amd64)).toThrow(message)
  })

  it('a usage error (exit 125)', () => {
    try {
      parsePlatform('nope')
      expect.unreachable()
    } catch (error) {
      expect(error).toMatchObject({kind: 'usage', exitCode: 125})
    }
  })
})

describe('matching', () => {
  it('the default on amd64 also runs 386, not arm64 or amd64/v2', () => {
    const m = defaultMatcher(amd64)
    expect(m.description).toBe('linux/amd64')
    expect(m.match({os: 'linux', architecture: 'amd64'})).toBe(true)
    expect(m.match({os: 'linux', architecture: 'x86_64'})).toBe(true)
    expect(m.match({os: 'linux', architecture: '386'})).toBe(true)
    expect(m.match({os: 'linux', architecture: 'arm64'})).toBe(false)
    expect(m.match({os: 'windows', architecture: 'amd64'})).toBe(false)
    expect(m.match({os: 'linux', architecture: 'amd64', variant: 'v2'})).toBe(false)
    expect(m.rank({os: 'linux', architecture: 'amd64'})).toBeLessThan(m.rank({os: 'linux', architecture: '386'}))
  })

  it('arm64 runs arm v8 down to v5; amd64/v3 runs v2, v1 and 386', () => {
    expect(compatiblePlatforms({os: 'linux', architecture: 'arm64'}).map(formatPlatform)).toEqual([
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ])
    expect(compatiblePlatforms({os: 'linux', architecture: 'amd64', variant: 'v3'}).map(formatPlatform)).toEqual([
      'linux/amd64/v3',
      'linux/amd64/v2',
      'linux/amd64',
      'linux/386',
    ])
  })

  it('--platform is strict: linux/amd64 does not take 386', () => {
    const m = strictMatcher(parsePlatform('linux/amd64', amd64))
    expect(m.match({os: 'linux', architecture: 'amd64'})).toBe(true)
    expect(m.match({os: 'linux', architecture: '386'})).toBe(false)
  })

  it('all platforms match everything', () => {
    expect(ALL_PLATFORMS.match({os: 'plan9', architecture: 'mips'})).toBe(true)
  })

  it('normalizes and formats', () => {
    expect(normalizePlatform({os: 'Linux', architecture: 'arm'})).toEqual({os: 'linux', architecture: 'arm', variant: 'v7'})
    expect(formatPlatform({os: 'linux', architecture: 'arm', variant: 'v7'})).toBe('linux/arm/v7')
    expect(formatPlatform({os: '', architecture: ''})).toBe('unknown/unknown')
  })

  it('knows this machine', () => {
    expect(hostPlatform('x64')).toEqual(amd64)
    expect(hostPlatform('arm64')).toEqual({os: 'linux', architecture: 'arm64'})
    expect(hostPlatform('ia32')).toEqual({os: 'linux', architecture: '386'})
  })
})
