import {describe, expect, it} from 'vitest'

import type {OciSpec} from '../../../src/lib/containers/bundle'
import {UndoStack} from '../../../src/lib/containerd/undo'
import {networkMode, setUpNetwork} from '../../../src/lib/network/container-network'

const spec = (): OciSpec => ({
  process: {args: ['sh']},
  root: {path: 'rootfs'},
  mounts: [{destination: '/etc/hosts', type: 'bind', source: '/somewhere'}],
  linux: {namespaces: [{type: 'pid'}, {type: 'network'}]},
})

describe('networkMode', () => {
  it('keeps the spec without networks, implies bridge with ports, takes host, none and names', () => {
    expect(networkMode(undefined, 0)).toEqual({mode: 'spec', names: []})
    expect(networkMode(undefined, 1)).toEqual({mode: 'cni', names: ['bridge']})
    expect(networkMode(['host'], 0)).toEqual({mode: 'host', names: []})
    expect(networkMode(['none'], 0)).toEqual({mode: 'none', names: []})
    expect(networkMode(['a', 'b', 'a'], 2)).toEqual({mode: 'cni', names: ['a', 'b']})
  })

  it('refuses host or none with other networks or with published ports, in one line', () => {
    expect(() => networkMode(['host', 'a'], 0)).toThrow('network "host" cannot be combined with other networks')
    expect(() => networkMode(['none'], 1)).toThrow('publishing ports needs a network: not with network "none"')
  })
})

describe('setUpNetwork without CNI', () => {
  it('host: drops the network namespace and binds the host /etc/hosts and /etc/resolv.conf read-only', async () => {
    const s = spec()
    const undo = new UndoStack()
    expect(await setUpNetwork(s, {namespace: 'n', id: 'c', networks: ['host'], image: true}, undo)).toEqual({})
    expect(s.linux?.namespaces).toEqual([{type: 'pid'}])
    expect(s.mounts).toEqual([
      {destination: '/etc/hosts', type: 'bind', source: '/etc/hosts', options: ['rbind', 'ro']},
      {destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro']},
    ])
    expect(undo.empty).toBe(true)
  })

  it('a bundle without networks keeps its spec as it is', async () => {
    const s = spec()
    await setUpNetwork(s, {namespace: 'n', id: 'c', image: false}, new UndoStack())
    expect(s).toEqual(spec())
  })
})
