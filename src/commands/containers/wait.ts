import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures, worstExitCode} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {checkWaitable, waitContainer, type WaitResult} from '../../lib/tasks/wait'

export default class ContainersWait extends BaseCommand<typeof ContainersWait> {
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Wait for containers to exit and print their exit statuses

Blocks until the task of each container has exited, then prints each exit status (128+N if killed by signal N) on its own line, in the order given, and exits with the first one's, as docker wait does. A task that has already exited answers at once. A container that does not exist or has no task is reported on stderr (ctr then exits with the worst failure's code, 125, once the others are done).`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers wait job', '<%= config.bin %> containers wait --json job', '<%= config.bin %> containers wait web worker']
  static strict = false

  async run(): Promise<WaitResult[]> {
    const ids = positionalArgs(await this.parse(ContainersWait), " (see 'ctr containers wait --help')")
    const checked = await forEachId(ids, async (id) => (await checkWaitable(this.client, id), id), {signal: this.signal})
    reportFailures(checked.failures)
    // Waited on all at once (an exit is never missed, whichever comes first), printed in the order given.
    const {results, failures} = await forEachId(checked.results, (id) => waitContainer(this.client, id, {signal: this.signal}), {
      concurrency: checked.results.length,
      onResult: (result) => this.ux.log(String(result.exitStatus)),
      signal: this.signal,
    })
    reportFailures(failures)
    const failed = [...checked.failures, ...failures]
    process.exitCode = failed.length > 0 ? worstExitCode(failed) : results[0].exitStatus
    return results
  }
}
