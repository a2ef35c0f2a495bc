import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {type Checkpoint, listCheckpoints} from '../../lib/checkpoints/store'
import type {Column} from '../../cli/output/ux'

const columns: Column<Checkpoint>[] = [
  {header: 'NAME', value: (c) => c.name},
  {header: 'TCP', value: (c) => c.tcp},
  {header: 'UNIX SOCKETS', value: (c) => c.unixSockets},
  {header: 'SHELL', value: (c) => c.shell},
  {header: 'EXIT', value: (c) => c.exit},
  {header: 'CREATED', value: (c) => c.created.toISOString()},
]

export default class Checkpoints extends BaseCommand<typeof Checkpoints> {
  static aliases = ['checkpoints:ls', 'checkpoints:list']
  static args = {
    id: Args.string({description: 'container ID', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `List the checkpoints of a container

Checkpoints live in ctr's checkpoint directory ($CTR_CHECKPOINT_DIR, default /var/lib/ctr/checkpoints) and
outlive the container, so they can be restored with 'ctr containers start --checkpoint NAME ID BUNDLE'.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> checkpoints redis', '<%= config.bin %> checkpoints --json redis', '<%= config.bin %> checkpoints -q redis']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'print names only, one per line'}),
  }

  async run(): Promise<Checkpoint[]> {
    const checkpoints = await listCheckpoints(this.client, this.args.id)
    this.ux.list(checkpoints, {columns, id: (c) => c.name}, {quiet: this.flags.quiet})
    return checkpoints
  }
}
