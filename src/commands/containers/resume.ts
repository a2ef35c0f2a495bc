import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {resumeTask} from '../../lib/tasks/processes'

export default class ContainersResume extends BaseCommand<typeof ContainersResume> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('tasks', ['resume'])
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = 'Resume the processes of a paused container'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers resume redis', '<%= config.bin %> containers resume web worker']
  static strict = false

  async run(): Promise<Array<{id: string}>> {
    const ids = positionalArgs(await this.parse(ContainersResume), " (see 'ctr containers resume --help')")
    const {results, failures} = await forEachId(ids, (id) => resumeTask(this.client, id), {signal: this.signal})
    process.exitCode = reportFailures(failures)
    return results
  }
}
