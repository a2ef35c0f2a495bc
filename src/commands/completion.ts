import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base-command'
import {bashScript, completionModel, zshScript} from '../cli/completion'

export default class Completion extends BaseCommand<typeof Completion> {
  static args = {
    shell: Args.string({description: 'shell to write the completion script for', options: ['bash', 'zsh'], required: true}),
  }
  static description = `Print a shell completion script for bash or zsh

Completes commands, flags and container IDs (these by running 'ctr containers -q' with the --namespace and
--address typed on the line, with a 1 s deadline). Nothing is loaded at ctr's start-up: the script is plain
shell. Regenerate it after upgrading ctr.`
  /** The script is generated from oclif's whole command table (src/cli/run-commands.ts). */
  static needsAllCommands = true

  static examples = [
    '<%= config.bin %> completion bash > /etc/bash_completion.d/ctr',
    'source <(<%= config.bin %> completion bash)  # in ~/.bashrc',
    '<%= config.bin %> completion zsh > "${fpath[1]}/_ctr"  # then restart zsh',
  ]

  async run(): Promise<string> {
    const topics = Object.fromEntries(Object.entries(this.config.pjson.oclif.topics ?? {}).map(([name, topic]) => [name, topic.description ?? '']))
    const model = completionModel(this.config.bin, this.config.commands, topics)
    const script = this.args.shell === 'zsh' ? zshScript(model) : bashScript(model)
    this.ux.log(script)
    return script
  }
}
