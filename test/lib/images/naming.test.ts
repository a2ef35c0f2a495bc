import {describe, expect, it} from 'vitest'

import {defaultImportPrefix, dockerTagAnnotations, imageNameFor, normalizeDockerRef, referenceObject} from '../../../src/lib/images/naming'

const digest = `sha256:${'a'.repeat(64)}`

describe('normalizeDockerRef (as distribution ParseDockerRef)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['acc/busybox:1', 'docker.io/acc/busybox:1'],
    ['docker.io/acc/busybox', 'docker.io/acc/busybox:latest'],
    ['index.docker.io/library/redis:7', 'docker.io/library/redis:7'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    ['ghcr.io/org/img:v1.2-rc', 'ghcr.io/org/img:v1.2-rc'],
    [`busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    [`busybox:1@${digest}`, `docker.io/library/busybox@${digest}`],
    ['a_b/c__d/e-f.g', 'docker.io/a_b/c__d/e-f.g:latest'],
  ])('%s → %s', (ref, expected) => {
    expect(normalizeDockerRef(ref)).toBe(expected)
  })

  it.each([
    ['Busybox', /must be lowercase/],
    ['acc/Busybox:1', /must be lowercase/],
    ['a'.repeat(64).replace(/a/g, 'b'), /ID, not a name/],
    ['busybox:', /not a valid/],
    ['bad name', /not a valid/],
    ['-lead', /not a valid/],
  ])('rejects %s', (ref, message) => {
    expect(() => normalizeDockerRef(ref)).toThrow(message)
  })
})

describe('referenceObject (the OCI ref.name of a full name)', () => {
  it.each([
    ['docker.io/acc/busybox:1', '1'],
    ['docker.io/library/busybox:latest', 'latest'],
    [`docker.io/library/busybox@${digest}`, `@${digest}`],
    ['localhost:5000/a/b:c', 'c'],
    ['docker.io/library/busybox', ''],
  ])('%s → %j', (name, expected) => {
    expect(referenceObject(name)).toBe(expected)
  })
})

describe('imageNameFor (Go ctr import naming)', () => {
  const now = new Date(2026, 11, 1, 12)
  it('io.containerd.image.name wins, untranslated, even with --base-name', () => {
    const ann = {'io.containerd.image.name': 'docker.io/x/y:1', 'org.opencontainers.image.ref.name': '1'}
    expect(imageNameFor(ann, {now})).toBe('docker.io/x/y:1')
    expect(imageNameFor(ann, {baseName: 'other/z', now})).toBe('docker.io/x/y:1')
  })
  it('a tag-only ref.name gets import-YYYY-MM-DD, or the --base-name', () => {
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'latest'}, {now})).toBe('import-2026-12-01:latest')
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'v1'}, {baseName: 'foo/bar', now})).toBe('foo/bar:v1')
  })
  it('a full ref.name is kept, and with --base-name only when under it', () => {
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'example.com/a:1'}, {now})).toBe('example.com/a:1')
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'foo/bar:2'}, {baseName: 'foo/bar'})).toBe('foo/bar:2')
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'foo/barx:2'}, {baseName: 'foo/bar'})).toBe('')
    expect(imageNameFor({'org.opencontainers.image.ref.name': 'other:2'}, {baseName: 'foo/bar'})).toBe('')
  })
  it('no annotations: no name', () => {
    expect(imageNameFor(undefined)).toBe('')
    expect(imageNameFor({'org.example': 'x'})).toBe('')
  })
  it('prefix uses the local date', () => {
    expect(defaultImportPrefix(new Date(2027, 0, 9))).toBe('import-2027-01-09')
  })
  it('docker RepoTags become both annotations', () => {
    expect(dockerTagAnnotations('acc/busybox:1')).toEqual({
      'io.containerd.image.name': 'docker.io/acc/busybox:1',
      'org.opencontainers.image.ref.name': '1',
    })
  })
})
