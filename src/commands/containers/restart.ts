import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {stopTimeFlag} from '../../cli/flag-types'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {DEFAULT_STOP_TIMEOUT_MS, restartContainer, type StartedAgain} from '../../lib/tasks/stop'

export default class ContainersRestart extends BaseCommand<typeof ContainersRestart> {
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Stop containers and start them again, as docker restart does

Stops each as 'containers stop' does (stop signal, SIGKILL after --time), then starts a new process from the same container record, detached: the same spec and mounts, the same snapshot, and the same log file, appended to after a line saying the container restarted ('containers logs' shows both runs). A stopped or created container is just started. Prints each ID. With several IDs, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers restart redis', '<%= config.bin %> containers restart -t 30 web worker']
  static flags = {
    time: stopTimeFlag(DEFAULT_STOP_TIMEOUT_MS),
  }
  static strict = false

  async run(): Promise<StartedAgain[]> {
    const ids = positionalArgs(await this.parse(ContainersRestart), " (see 'ctr containers restart --help')")
    const {results, failures} = await forEachId(ids, (id) => restartContainer(this.client, id, {timeoutMs: this.flags.time?.ms, signal: this.signal}), {
      signal: this.signal,
      onResult: (restarted) => this.ux.log(restarted.id),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
