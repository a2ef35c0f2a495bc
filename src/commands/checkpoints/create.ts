import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {createCheckpoint} from '../../lib/checkpoints/create'
import type {Checkpoint} from '../../lib/checkpoints/store'

export default class CheckpointsCreate extends BaseCommand<typeof CheckpointsCreate> {
  static args = {
    id: Args.string({description: 'container ID', required: true}),
    name: Args.string({description: 'checkpoint name (letters, digits, . _ -)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Create a new checkpoint for the container

CRIU (through runc) dumps the container's running task into ctr's checkpoint directory. The container keeps
running unless --exit is given. A failed checkpoint leaves nothing behind and the container running; the
error carries CRIU's reason. Needs a CRIU that supports the host's kernel.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> checkpoints create redis test',
    '<%= config.bin %> checkpoints create --tcp --unix-sockets redis test2',
    '<%= config.bin %> checkpoints create --exit redis before-upgrade',
  ]
  static flags = {
    exit: Flags.boolean({description: 'exit the container after the checkpoint completes successfully'}),
    'file-locks': Flags.boolean({description: 'checkpoint file locks'}),
    shell: Flags.boolean({description: 'checkpoint shell jobs (a process with a terminal)'}),
    tcp: Flags.boolean({description: 'persist open tcp connections'}),
    'unix-sockets': Flags.boolean({description: 'persist unix sockets'}),
  }

  async run(): Promise<Checkpoint> {
    const {args, flags} = this
    const spinner = this.ux.spinner(`checkpointing ${args.id}`)
    try {
      return await createCheckpoint(this.client, {
        id: args.id,
        name: args.name,
        exit: flags.exit,
        fileLocks: flags['file-locks'],
        shell: flags.shell,
        tcp: flags.tcp,
        unixSockets: flags['unix-sockets'],
        signal: this.signal,
      })
    } finally {
      spinner.stop()
    }
  }
}
