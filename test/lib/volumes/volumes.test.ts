import {describe, expect, it} from 'vitest'

import {imageView} from '../../../src/lib/containers/snapshot-root'
import {isVolumeName, matchesVolumeFilter, parseVolumeFilters, volumeRoot, volumesOf} from '../../../src/lib/volumes/volumes'

describe('volume names, filters and labels', () => {
  it("names follow docker's rule", () => {
    for (const name of ['a', 'A9', 'my_vol.1-x', '0']) expect(isVolumeName(name)).toBe(true)
    for (const name of ['', '.', '..', '_a', '-a', 'a/b', 'a b', 'a:b', 'x'.repeat(256)]) expect(isVolumeName(name)).toBe(false)
  })

  it('a label yields only valid names (never a path)', () => {
    expect(volumesOf({'io.ctr.volumes': 'a,b.c,../x,/etc,,d'})).toEqual(['a', 'b.c', 'd'])
    expect(volumesOf({})).toEqual([])
  })

  it('--filter: dangling and name; same key any, different keys all; anything else refused', () => {
    const filter = parseVolumeFilters(['dangling=true', 'name=ab', 'name=zz'])
    const vol = (name: string, containers: string[] = []) => ({name, mountpoint: '', containers})
    expect(matchesVolumeFilter(vol('xabx'), filter)).toBe(true)
    expect(matchesVolumeFilter(vol('zz'), filter)).toBe(true)
    expect(matchesVolumeFilter(vol('ab', ['c1']), filter)).toBe(false)
    expect(matchesVolumeFilter(vol('q'), filter)).toBe(false)
    expect(matchesVolumeFilter(vol('q', ['c']), parseVolumeFilters(['dangling=0']))).toBe(true)
    for (const bad of ['dangling=yes', 'driver=local', 'name=', 'dangling']) expect(() => parseVolumeFilters([bad])).toThrow(`invalid filter "${bad}"`)
  })

  it('the root: CTR_VOLUME_DIR, else the system dir for root, else XDG state', () => {
    expect(volumeRoot({CTR_VOLUME_DIR: '/tmp/v'}, 1000)).toBe('/tmp/v')
    expect(volumeRoot({}, 0)).toBe('/var/lib/ctr/volumes')
    expect(volumeRoot({XDG_STATE_HOME: '/home/u/.state'}, 1000)).toBe('/home/u/.state/ctr/volumes')
  })

  it("the image's root from a snapshot's mounts: one layer or a bind is a directory, several a read-only overlay of the layers", () => {
    expect(imageView([{type: 'overlay', source: 'overlay', target: '', options: ['workdir=/w', 'upperdir=/u', 'lowerdir=/l2:/l1']}])).toEqual({
      overlay: {type: 'overlay', source: 'overlay', target: '', options: ['ro', 'lowerdir=/l2:/l1']},
    })
    expect(imageView([{type: 'overlay', source: 'overlay', target: '', options: ['upperdir=/u', 'lowerdir=/l1']}])).toEqual({dir: '/l1'})
    expect(imageView([{type: 'bind', source: '/snap/fs', target: '', options: ['rbind', 'rw']}])).toEqual({dir: '/snap/fs'})
    expect(() => imageView([{type: 'btrfs', source: '/dev/x', target: '', options: []}])).toThrow(/mounted as "btrfs"/)
  })
})
