import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {confirm} from '../../cli/confirm'
import {goNames} from '../../cli/go-names'
import {type PrunableImage, prunableImages, removeImages} from '../../lib/images/prune'

export default class ImagesPrune extends BaseCommand<typeof ImagesPrune> {
  /** Go ctr's topic names for it. */
  static hiddenAliases = goNames('images', ['prune'], ['images:prune'])
  static description = `Remove unused images

By default only dangling images go: those whose name is not a reference with a tag (repo@sha256:..., or a name that is no image reference), as nerdctl's image prune decides. --all removes every image no container was created from. Images a container was created from are always kept. Prints each name removed; content and snapshots are freed by containerd's garbage collector, which this waits for.

On a terminal, without --force, ctr asks first (as docker does); without a terminal it asks nothing.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> images prune', '<%= config.bin %> images prune --all --force']
  static flags = {
    all: Flags.boolean({char: 'a', description: 'remove every image no container uses, not only dangling ones'}),
    force: Flags.boolean({char: 'f', description: 'do not ask'}),
  }

  async run(): Promise<PrunableImage[]> {
    const {flags} = this
    const candidates = await prunableImages(this.client, {all: flags.all, signal: this.signal})
    if (candidates.length === 0) return []
    if (!flags.force && process.stdin.isTTY && process.stderr.isTTY) {
      const warning = flags.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.'
      process.stderr.write(`${warning}\n`)
      if (!(await confirm('Are you sure you want to continue?', this.signal))) return []
    }
    const removed = await removeImages(this.client, candidates, this.signal)
    for (const image of removed) this.ux.log(image.name)
    return removed
  }
}
