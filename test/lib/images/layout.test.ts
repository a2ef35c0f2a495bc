import {createHash} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {
  configPlatform,
  dockerImages,
  makeBlob,
  parseConfig,
  parseDockerManifest,
  parseIndex,
  parseManifest,
  parseOciLayout,
} from '../../../src/lib/images/layout'
import {childrenGcLabels} from '../../../src/lib/images/media-types'
import {chainIds} from '../../../src/lib/images/unpack'

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`
const json = (v: unknown) => Buffer.from(JSON.stringify(v))

describe('parsing', () => {
  it('oci-layout 1.0.0 only', () => {
    expect(() => parseOciLayout(json({imageLayoutVersion: '1.0.0'}), 'oci-layout')).not.toThrow()
    expect(() => parseOciLayout(json({imageLayoutVersion: '2.0'}), 'oci-layout')).toThrow(/oci-layout: unsupported OCI image layout version "2.0"/)
    expect(() => parseOciLayout(Buffer.from('{'), 'oci-layout')).toThrow(/oci-layout: not valid JSON/)
  })

  it('an index with descriptors, annotations and platforms', () => {
    const index = parseIndex(
      json({
        schemaVersion: 2,
        manifests: [
          {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha('m'), size: 10, annotations: {a: 'b'}, platform: {os: 'linux', architecture: 'arm', variant: 'v7'}},
        ],
      }),
      'index.json',
    )
    expect(index.manifests[0]).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha('m'),
      size: 10,
      annotations: {a: 'b'},
      platform: {os: 'linux', architecture: 'arm', variant: 'v7'},
    })
  })

  it.each([
    [{schemaVersion: 2}, /not an image index/],
    [{manifests: [{mediaType: 'x', digest: 'sha256:12', size: 1}]}, /manifests\[0\]: descriptor digest "sha256:12" is not sha256/],
    [{manifests: [{mediaType: 'x', digest: sha('a'), size: -1}]}, /invalid size/],
    [{manifests: [{digest: sha('a'), size: 1}]}, /no mediaType/],
    [{mediaType: 'application/vnd.oci.image.manifest.v1+json', manifests: []}, /is not an image index/],
  ])('rejects index %j', (value, message) => {
    expect(() => parseIndex(json(value), 'index.json')).toThrow(message)
  })

  it('manifests and configs', () => {
    const m = parseManifest(
      json({schemaVersion: 2, config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('c'), size: 3}, layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('l'), size: 5}]}),
      'm',
    )
    expect(m.layers).toHaveLength(1)
    expect(() => parseManifest(json({layers: []}), 'manifest x')).toThrow(/manifest x: not an image manifest/)
    const c = parseConfig(json({os: 'linux', architecture: 'x86_64', rootfs: {type: 'layers', diff_ids: [sha('d')]}}), 'c')
    expect(configPlatform(c)).toEqual({os: 'linux', architecture: 'amd64'})
    expect(() => parseConfig(json({rootfs: {diff_ids: ['nope']}}), 'config y')).toThrow(/config y: rootfs.diff_ids has "nope"/)
  })

  it('docker manifest.json', () => {
    expect(parseDockerManifest(json([{Config: 'c.json', RepoTags: null, Layers: ['a/layer.tar']}]), 'manifest.json')).toEqual([
      {Config: 'c.json', RepoTags: null, Layers: ['a/layer.tar']},
    ])
    expect(() => parseDockerManifest(json({}), 'manifest.json')).toThrow(/not a docker save manifest/)
    expect(() => parseDockerManifest(json([{Config: 1, Layers: []}]), 'manifest.json')).toThrow(/entry 0 needs Config/)
  })
})

describe('docker archive conversion (as Go ctr images/archive)', () => {
  const config = {digest: sha('config'), size: 100, head: Buffer.from('{"a')}
  const gz = {digest: sha('gz'), size: 200, head: Buffer.from([0x1f, 0x8b, 8, 0])}
  const plain = {digest: sha('plain'), size: 300, head: Buffer.from('etc/\0\0\0')}
  const files: Record<string, typeof config> = {'c.json': config, 'a/layer.tar': gz, 'b/layer.tar': plain}

  it('makes one schema 2 manifest per entry, the bytes Go json.Marshal writes, and an index entry per tag', () => {
    const {manifests, index} = dockerImages(
      [{Config: 'c.json', RepoTags: ['busybox:1', 'acc/x'], Layers: ['a/layer.tar', 'b/layer.tar']}],
      (p) => files[p],
      () => ({os: 'linux', architecture: 'amd64'}),
    )
    expect(manifests).toHaveLength(1)
    expect(manifests[0].bytes.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
        `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"${config.digest}","size":100},` +
        `"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"${gz.digest}","size":200},` +
        `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"${plain.digest}","size":300}]}`,
    )
    expect(manifests[0].descriptor.digest).toBe(sha(manifests[0].bytes.toString()))
    const entries = JSON.parse(index.bytes.toString()).manifests
    expect(entries.map((e: {annotations: Record<string, string>}) => e.annotations['io.containerd.image.name'])).toEqual([
      'docker.io/library/busybox:1',
      'docker.io/acc/x:latest',
    ])
    expect(index.bytes.toString()).toContain(
      `"annotations":{"io.containerd.image.name":"docker.io/library/busybox:1","org.opencontainers.image.ref.name":"1"},"platform":{"architecture":"amd64","os":"linux"}}`,
    )
  })

  it('an untagged entry gets an unnamed index entry; missing files are named', () => {
    const {index} = dockerImages([{Config: 'c.json', Layers: []}], (p) => files[p], () => ({os: 'linux', architecture: 'arm'}))
    const [entry] = JSON.parse(index.bytes.toString()).manifests
    expect(entry.annotations).toBeUndefined()
    expect(entry.platform).toEqual({architecture: 'arm', os: 'linux', variant: 'v7'})
    expect(() => dockerImages([{Config: 'nope.json', Layers: []}], (p) => files[p], () => ({}))).toThrow(/image config nope.json, which the archive does not have/)
    expect(() => dockerImages([{Config: 'c.json', Layers: ['x/layer.tar']}], (p) => files[p], () => ({}))).toThrow(/layer x\/layer.tar, which the archive does not have/)
  })

  it('makeBlob digests what it serializes', () => {
    const b = makeBlob({a: 1}, 'application/json')
    expect(b.descriptor).toEqual({mediaType: 'application/json', digest: sha('{"a":1}'), size: 7})
  })
})

describe('GC labels (containerd ChildGCLabels numbering)', () => {
  it('keys ending in a dot numbered from 0, others from their second use', () => {
    expect(
      childrenGcLabels([
        {mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'c'},
        {mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'l0'},
        {mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: 'l1'},
      ]),
    ).toEqual({'containerd.io/gc.ref.content.config': 'c', 'containerd.io/gc.ref.content.l.0': 'l0', 'containerd.io/gc.ref.content.l.1': 'l1'})
    expect(
      childrenGcLabels([
        {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'm0'},
        {mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'm1'},
        {mediaType: 'application/vnd.oci.image.index.v1+json', digest: 'i'},
        {mediaType: 'application/x-other', digest: 'o'},
      ]),
    ).toEqual({
      'containerd.io/gc.ref.content.m.0': 'm0',
      'containerd.io/gc.ref.content.m.1': 'm1',
      'containerd.io/gc.ref.content.0': 'i',
      'containerd.io/gc.ref.content.1': 'o',
    })
    const config = {mediaType: 'application/vnd.docker.container.image.v1+json'}
    expect(childrenGcLabels([{...config, digest: 'c0'}, {...config, digest: 'c1'}])).toEqual({
      'containerd.io/gc.ref.content.config': 'c0',
      'containerd.io/gc.ref.content.config1': 'c1',
    })
  })
})

describe('chain IDs (identity.ChainID)', () => {
  it('the first is the diff ID, then sha256 of "parent diff"', () => {
    const [a, b, c] = [sha('a'), sha('b'), sha('c')]
    const ab = sha(`${a} ${b}`)
    expect(chainIds([a, b, c])).toEqual([a, ab, sha(`${ab} ${c}`)])
    expect(chainIds([])).toEqual([])
  })
})
