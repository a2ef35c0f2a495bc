import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {checkKillOptions, type KillResult, killTask, parsePid} from '../../lib/tasks/processes'
import {parseSignal} from '../../lib/tasks/signals'

export default class ContainersKill extends BaseCommand<typeof ContainersKill> {
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = 'Send a signal to a container or one of its processes (default SIGTERM)'
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers kill redis',
    '<%= config.bin %> containers kill --signal KILL redis',
    '<%= config.bin %> containers kill -s 9 --pid 14100 redis',
    '<%= config.bin %> containers kill --all -s HUP web worker',
  ]
  static flags = {
    all: Flags.boolean({description: 'signal every process in the container'}),
    pid: Flags.string({char: 'p', default: '0', description: 'host PID of the process to signal within the container (0: its init process)'}),
    signal: Flags.string({char: 's', default: 'SIGTERM', description: 'signal to send: a number or a name (9, KILL, SIGKILL)'}),
  }
  static strict = false

  async run(): Promise<KillResult[]> {
    const options = {signal: parseSignal(this.flags.signal), pid: parsePid(this.flags.pid), all: this.flags.all}
    checkKillOptions(options)
    const ids = positionalArgs(await this.parse(ContainersKill), " (see 'ctr containers kill --help')")
    const {results, failures} = await forEachId(ids, (id) => killTask(this.client, id, options))
    process.exitCode = reportFailures(failures)
    return results
  }
}
