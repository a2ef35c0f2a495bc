import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {Column} from '../../cli/output/ux'
import {listVolumes, matchesVolumeFilter, parseVolumeFilters, type VolumeInfo} from '../../lib/volumes/volumes'

const columns: Column<VolumeInfo>[] = [
  {header: 'NAME', value: (v) => v.name},
  {header: 'CONTAINERS', value: (v) => v.containers.join(',') || '-'},
  {header: 'MOUNTPOINT', value: (v) => v.mountpoint},
]

export default class Volumes extends BaseCommand<typeof Volumes> {
  static aliases = ['volumes:ls', 'volumes:list']
  static description = `List the named volumes of the namespace

A named volume is a directory ctr keeps for containers: 'containers start -v NAME:PATH' mounts it at PATH, making it on first use and, when the container comes from an image, filling a new (empty) volume with the image's content at PATH, as docker does. Volumes live in $CTR_VOLUME_DIR/<namespace>/<name>/_data (CTR_VOLUME_DIR defaults to /var/lib/ctr/volumes for root and to $XDG_STATE_HOME/ctr/volumes for others). CONTAINERS are the containers of the namespace that use it; a volume none uses is dangling.

Other volume commands: create, rm, prune (see 'ctr volumes COMMAND --help').`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> volumes',
    '<%= config.bin %> volumes ls -q --filter dangling=true',
    '<%= config.bin %> volumes rm $(<%= config.bin %> volumes ls -q --filter dangling=true)',
  ]
  static flags = {
    filter: Flags.string({
      char: 'f',
      description: 'dangling=true|false (used by no container, or by some), name=TEXT (repeatable: same key any, different keys all)',
      helpValue: 'KEY=VALUE',
      multiple: true,
      multipleNonGreedy: true,
    }),
    quiet: Flags.boolean({char: 'q', description: 'print names only, one per line'}),
  }

  async run(): Promise<VolumeInfo[]> {
    const filter = parseVolumeFilters(this.flags.filter ?? [])
    const volumes = (await listVolumes(this.client, {signal: this.signal})).filter((v) => matchesVolumeFilter(v, filter))
    this.ux.list(volumes, {columns, id: (v) => v.name}, {quiet: this.flags.quiet})
    return volumes
  }
}
