import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {pauseTask} from '../../lib/tasks/processes'

export default class ContainersPause extends BaseCommand<typeof ContainersPause> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('tasks', ['pause'])
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = "Pause a container's processes (freeze its cgroup)"
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers pause redis', '<%= config.bin %> containers pause web worker']
  static strict = false

  async run(): Promise<Array<{id: string}>> {
    const ids = positionalArgs(await this.parse(ContainersPause), " (see 'ctr containers pause --help')")
    const {results, failures} = await forEachId(ids, (id) => pauseTask(this.client, id), {signal: this.signal})
    process.exitCode = reportFailures(failures)
    return results
  }
}
