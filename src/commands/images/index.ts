import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {positionalArgs} from '../../cli/positional-args'
import {usageError} from '../../lib/containerd/errors'
import {type ImageInfo, listImages} from '../../lib/images/store'
import {formatBytes} from '../../cli/output/bytes'
import type {Column} from '../../cli/output/ux'
import {rowsOnNodes, withNodeColumn} from '../../cli/output/nodes'

/** Go ctr `images ls` columns, without LABELS (they are in --json). */
const columns: Column<ImageInfo>[] = [
  {header: 'REF', value: (i) => i.name},
  {header: 'TYPE', value: (i) => i.mediaType},
  {header: 'DIGEST', value: (i) => i.digest},
  {header: 'SIZE', value: (i) => formatBytes(i.size)},
  {header: 'PLATFORMS', value: (i) => (i.platforms.length > 0 ? i.platforms.join(',') : '-')},
]

export default class Images extends BaseCommand<typeof Images> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['', 'ls', 'list'], ['images', 'images:ls', 'images:list'])
  static aliases = ['images:ls', 'images:list']
  static description = `List the images of the namespace

SIZE is what the image takes for this machine's platform (its index, manifest, config and layers, compressed), as Go ctr shows it; PLATFORMS lists every platform the image has.

Filters are containerd's and go to the daemon as they are: name==REF, name~=REGEXP, target.digest==DIGEST, target.mediatype==TYPE, labels."KEY"==VALUE; commas inside one filter must all match, repeated --filter flags match any.

Other image commands: import, rm (see 'ctr images COMMAND --help').`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images',
    '<%= config.bin %> images -q',
    "<%= config.bin %> images --filter 'name~=busybox'",
    "<%= config.bin %> images ls 'name~=busybox'",
    '<%= config.bin %> images --json --filter \'labels."io.cri-containerd.image"==managed\'',
  ]
  static args = {
    filter: Args.string({description: 'containerd filters, as Go ctr images ls takes them (same as --filter)'}),
  }
  static flags = {
    filter: Flags.string({char: 'f', description: 'containerd filter, e.g. name~=busybox (repeatable: any may match)', multiple: true}),
    quiet: Flags.boolean({char: 'q', description: 'print image names only, one per line'}),
  }

  static multiNode = true
  static strict = false
  static usage = 'images [-q] [--json] [-f FILTER]... [FILTER...]'

  async run(): Promise<ImageInfo[]> {
    const positional = positionalArgs(await this.parse(Images), " (see 'ctr images --help')")
    // A word without an operator is more likely a mistyped subcommand (`images lss`) than a presence filter.
    const word = positional.find((text) => !text.includes('='))
    if (word !== undefined) throw usageError(`unexpected argument "${word}" for images: a filter has ==, != or ~= (see 'ctr images --help')`)
    const filters = [...(this.flags.filter ?? []), ...positional]
    const options = {filters, signal: this.signal, namesOnly: this.flags.quiet && !this.jsonEnabled()}
    if (this.severalNodes) {
      const rows = rowsOnNodes(await this.forEachNode((client) => listImages(client, options)))
      this.ux.list(rows, {columns: withNodeColumn(columns), id: (i) => i.name}, {quiet: this.flags.quiet})
      return rows
    }
    const images = await listImages(this.client, options)
    this.ux.list(images, {columns, id: (i) => i.name}, {quiet: this.flags.quiet})
    return images
  }
}
