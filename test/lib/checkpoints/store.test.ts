import {describe, expect, it} from 'vitest'

import {
  checkCheckpointName,
  checkpointRoot,
  containerCheckpointDir,
  decodeMetadata,
  DEFAULT_CHECKPOINT_DIR,
  encodeMetadata,
} from '../../../src/lib/checkpoints/store'
import {usageMessage} from '../../helpers/usage-error'

describe('checkpoint names', () => {
  it.each(['test', 'test2', 'a', 'A.b_c-d', '0', 'x'.repeat(76), 'v1.2'])('accepts %j', (name) => {
    expect(() => checkCheckpointName(name)).not.toThrow()
  })

  it.each(['', '.', '..', '../x', 'a/b', '/abs', '.hidden', '-dash', '_under', 'a..b', 'a\0b', 'sp ace', 'é', 'x'.repeat(77), 'a\nb'])(
    'rejects %j with a usage error naming it (the CLI escapes control characters when it prints it)',
    (name) => {
      expect(usageMessage(() => checkCheckpointName(name))).toContain(`invalid checkpoint name "${name}"`)
    },
  )
})

describe('store paths', () => {
  it('nests namespace and container under the root', () => {
    expect(containerCheckpointDir('/store', 'default', 'redis')).toBe('/store/default/redis')
  })

  it.each([
    ['default', '..'],
    ['default', '../x'],
    ['default', 'a/b'],
    ['..', 'redis'],
    ['a/b', 'redis'],
    ['', 'redis'],
  ])('never lets namespace %j / container %j escape the root', (namespace, id) => {
    usageMessage(() => containerCheckpointDir('/store', namespace, id))
  })

  it('takes the root from the option, else CTR_CHECKPOINT_DIR, else the default, absolute', () => {
    expect(checkpointRoot({root: '/a'}, {CTR_CHECKPOINT_DIR: '/b'})).toBe('/a')
    expect(checkpointRoot({}, {CTR_CHECKPOINT_DIR: '/b/'})).toBe('/b')
    expect(checkpointRoot({}, {})).toBe(DEFAULT_CHECKPOINT_DIR)
    expect(checkpointRoot({}, {CTR_CHECKPOINT_DIR: 'rel'})).toBe(`${process.cwd()}/rel`)
  })
})

describe('checkpoint.json', () => {
  const checkpoint = {
    name: 'test',
    container: 'redis',
    namespace: 'default',
    created: new Date('2024-05-01T10:00:00.123Z'),
    tcp: true,
    unixSockets: false,
    shell: true,
    exit: false,
    fileLocks: true,
  }

  it('round-trips, with the path from where it was read', () => {
    const text = encodeMetadata(checkpoint)
    expect(JSON.parse(text)).toEqual({...checkpoint, created: '2024-05-01T10:00:00.123Z'})
    expect(decodeMetadata(text, '/store/default/redis/test')).toEqual({...checkpoint, path: '/store/default/redis/test'})
  })

  it('does not write a path (the store may move with CTR_CHECKPOINT_DIR)', () => {
    expect(JSON.parse(encodeMetadata({...checkpoint, path: '/x'} as never))).not.toHaveProperty('path')
  })

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['missing flag', JSON.stringify({...checkpoint, tcp: undefined})],
    ['flag of the wrong type', JSON.stringify({...checkpoint, exit: 'false'})],
    ['bad date', JSON.stringify({...checkpoint, created: 'yesterday'})],
    ['missing name', JSON.stringify({...checkpoint, name: undefined})],
  ])('treats %s as no checkpoint', (_what, text) => {
    expect(decodeMetadata(text, '/p')).toBeUndefined()
  })
})
