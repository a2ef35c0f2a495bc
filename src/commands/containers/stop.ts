import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {stopTimeFlag} from '../../cli/flag-types'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {DEFAULT_STOP_TIMEOUT_MS, stopContainer, type StopResult} from '../../lib/tasks/stop'

export default class ContainersStop extends BaseCommand<typeof ContainersStop> {
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Stop running containers, as docker stop does

Sends the container's stop signal (the image's, label io.containerd.image.config.stop-signal, else SIGTERM), waits up to --time for the process to exit, then sends SIGKILL to all its processes. Returns once each has exited; its task is then deleted (the container stays, stopped, with its exit status: 'containers start ID' starts it again). Prints each ID. A container that is not running is not an error. With several IDs, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers stop redis',
    '<%= config.bin %> containers stop -t 30 web worker',
    '<%= config.bin %> containers stop -t 0 web',
  ]
  static flags = {
    time: stopTimeFlag(DEFAULT_STOP_TIMEOUT_MS),
  }
  static strict = false

  async run(): Promise<StopResult[]> {
    const ids = positionalArgs(await this.parse(ContainersStop), " (see 'ctr containers stop --help')")
    const {results, failures} = await forEachId(ids, (id) => stopContainer(this.client, id, {timeoutMs: this.flags.time?.ms, signal: this.signal}), {
      signal: this.signal,
      onResult: (stopped) => this.ux.log(stopped.id),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
