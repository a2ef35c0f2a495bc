import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {positionalArgs} from '../../cli/positional-args'
import {usageError} from '../../lib/containerd/errors'
import {type TaggedImage, tagImage} from '../../lib/images/tag'

export default class ImagesTag extends BaseCommand<typeof ImagesTag> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['tag'], ['images:tag'])
  static args = {
    source: Args.string({description: 'the image to name (as ctr images lists it, or a short name: busybox)', required: true}),
    target: Args.string({description: 'the new name(s), normalized as pull names images (busybox → docker.io/library/busybox:latest)', required: true}),
  }
  static description = `Give an image more names

Each TARGET becomes an image record with SOURCE's target and labels, as Go ctr's images tag. Names are normalized as pull names them. Every TARGET is checked first: an invalid name, or one that exists (without --force), makes nothing. --force points an existing TARGET at SOURCE's content (in place: the name never goes missing). Prints each new name.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images tag docker.io/library/busybox:latest example.com/tools/busybox:1',
    '<%= config.bin %> images tag --force busybox app:dev',
  ]
  static flags = {
    force: Flags.boolean({description: 'replace a TARGET that exists'}),
  }
  static strict = false
  static usage = 'images tag [--force] SOURCE TARGET...'

  async run(): Promise<TaggedImage[]> {
    const [source, ...targets] = positionalArgs(await this.parse(ImagesTag), " (see 'ctr images tag --help')")
    if (targets.length === 0) throw usageError("images tag needs SOURCE and at least one TARGET (see 'ctr images tag --help')")
    const tagged = await tagImage(this.client, source, targets, {force: this.flags.force, signal: this.signal})
    for (const t of tagged) this.ux.log(t.name)
    return tagged
  }
}
