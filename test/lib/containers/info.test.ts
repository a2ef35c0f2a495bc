import {describe, expect, it} from 'vitest'

import {Options as RuncOptions} from '../../../src/gen/containerd/runc/options/oci'
import {decodeSpec, runtimeOptions} from '../../../src/lib/containers/info'

const any = (typeUrl: string, value: Uint8Array | string) => ({typeUrl, value: Buffer.from(value)})

describe('decodeSpec', () => {
  it('decodes the spec JSON under the bare and the prefixed type URL', () => {
    const spec = {ociVersion: '1.0.2', process: {args: ['sh']}}
    expect(decodeSpec(any('types.containerd.io/opencontainers/runtime-spec/1/Spec', JSON.stringify(spec)))).toEqual(spec)
    expect(decodeSpec(any('type.googleapis.com/types.containerd.io/opencontainers/runtime-spec/1/Spec', JSON.stringify(spec)))).toEqual(spec)
  })
  it('keeps other types and bad JSON as typeUrl + base64', () => {
    expect(decodeSpec(any('example.Other', 'abc'))).toEqual({typeUrl: 'example.Other', value: 'YWJj'})
    expect(decodeSpec(any('types.containerd.io/opencontainers/runtime-spec/1/Spec', '{'))).toEqual({typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: 'ew=='})
  })
})

describe('runtimeOptions', () => {
  it('decodes runc Options', () => {
    const value = RuncOptions.encode(RuncOptions.fromPartial({systemdCgroup: true, binaryName: 'crun'})).finish()
    expect(runtimeOptions(any('containerd.runc.v1.Options', value))).toMatchObject({typeUrl: 'containerd.runc.v1.Options', systemdCgroup: true, binaryName: 'crun', noPivotRoot: false})
  })
  it('keeps unknown options raw', () => {
    expect(runtimeOptions(any('io.example.Options', 'z'))).toEqual({typeUrl: 'io.example.Options', value: 'eg=='})
  })
})
