import {describe, expect, it} from 'vitest'

import {CtrError} from '../../../src/lib/containerd/errors'
import {DEFAULT_REMOTE_SOCKET, nodeName, parseSshAddress, splitAddresses} from '../../../src/lib/ssh/address'
import {splitCommand, sshCommand} from '../../../src/lib/ssh/command'

describe('parseSshAddress', () => {
  it.each([
    ['ssh://node1', {host: 'node1', user: undefined, port: undefined, socket: DEFAULT_REMOTE_SOCKET}],
    ['ssh://root@node1:2222/run/k3s/containerd/containerd.sock', {host: 'node1', user: 'root', port: 2222, socket: '/run/k3s/containerd/containerd.sock'}],
    ['ssh://[::1]:22/', {host: '::1', port: 22, socket: DEFAULT_REMOTE_SOCKET}],
    ['ssh://a%20b@h/x%2Fy', {host: 'h', user: 'a b', socket: '/x/y'}],
  ])('%s', (text, expected) => {
    expect(parseSshAddress(text)).toMatchObject({text, ...expected})
  })

  it.each([
    ['ssh://-oProxyCommand=x/', /cannot start with "-"/],
    ['ssh://-l@h/', /cannot start with "-"/],
    ['ssh://u:pw@h/', /password/],
    ['ssh://h/s?x=1', /no \? or #/],
    ['ssh:///sock', /no host|not a URL/],
    ['ssh://h/a b', /white space/],
  ])('refuses %s in one usage line', (text, reason) => {
    const error = (() => {
      try {
        parseSshAddress(text)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).kind).toBe('usage')
    expect((error as CtrError).message).toMatch(reason)
    expect((error as CtrError).message).not.toContain('\n')
  })
})

describe('splitAddresses and nodeName', () => {
  it('splits at commas and trims; an empty entry is a usage error', () => {
    expect(splitAddresses('ssh://a, /run/x.sock')).toEqual(['ssh://a', '/run/x.sock'])
    expect(() => splitAddresses('ssh://a,,b')).toThrow(/empty entry/)
  })

  it('names a node without ssh:// and without the default socket', () => {
    expect(nodeName(`ssh://root@n1${DEFAULT_REMOTE_SOCKET}`)).toBe('root@n1')
    expect(nodeName('ssh://n1:2222/other.sock')).toBe('n1:2222/other.sock')
    expect(nodeName('unix:///run/x.sock')).toBe('/run/x.sock')
  })
})

describe('CTR_SSH_COMMAND', () => {
  it.each([
    ['/usr/bin/ssh -F /dev/null', ['/usr/bin/ssh', '-F', '/dev/null']],
    [`/usr/bin/ssh -o 'ProxyCommand=nc %h %p' -i "/k ey"`, ['/usr/bin/ssh', '-o', 'ProxyCommand=nc %h %p', '-i', '/k ey']],
    ['/usr/bin/ssh a\\ b "x\\"y" \'\'', ['/usr/bin/ssh', 'a b', 'x"y', '']],
  ])('splits %s', (text, words) => {
    expect(splitCommand(text)).toEqual(words)
  })

  it.each([
    ['/usr/bin/ssh $HOME', /"\$" is not handled/],
    ['/usr/bin/ssh; rm -rf /', /";" is not handled/],
    ['/usr/bin/ssh "$X"', /not expanded/],
    ["/usr/bin/ssh 'open", /unterminated/],
    ['/usr/bin/ssh ~/.ssh/k', /"~" is not handled/],
  ])('refuses %s', (text, reason) => {
    expect(() => splitCommand(text)).toThrow(reason)
  })

  it('the program must be an absolute path: nothing is looked up in PATH', () => {
    expect(sshCommand({})).toEqual(['/usr/bin/ssh'])
    expect(sshCommand({CTR_SSH_COMMAND: '/opt/ssh -v'})).toEqual(['/opt/ssh', '-v'])
    expect(() => sshCommand({CTR_SSH_COMMAND: 'ssh -F x'})).toThrow(/"ssh" must be an absolute path/)
  })
})
