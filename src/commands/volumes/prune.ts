import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {confirm} from '../../cli/confirm'
import {danglingVolumes, pruneVolumes, type RemovedVolume} from '../../lib/volumes/volumes'

export default class VolumesPrune extends BaseCommand<typeof VolumesPrune> {
  static description = `Remove the volumes no container uses

Removes every dangling volume of the namespace (one no container names; docker 23+ keeps named volumes unless --all: ctr has named volumes only) and prints each name removed.

On a terminal, without --force, ctr asks first (as docker does); without a terminal it asks nothing.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> volumes prune', '<%= config.bin %> volumes prune --force']
  static flags = {
    force: Flags.boolean({char: 'f', description: 'do not ask'}),
  }

  async run(): Promise<RemovedVolume[]> {
    const candidates = await danglingVolumes(this.client, {signal: this.signal})
    if (candidates.length > 0 && !this.flags.force && process.stdin.isTTY && process.stderr.isTTY) {
      process.stderr.write('WARNING! This will remove all volumes not used by at least one container.\n')
      if (!(await confirm('Are you sure you want to continue?', this.signal))) return []
    }
    const removed = await pruneVolumes(this.client, candidates, {signal: this.signal})
    for (const volume of removed) this.ux.log(volume.name)
    return removed
  }
}
