import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {checkKillOptions, type KillResult, killTask, parsePid} from '../../lib/tasks/processes'
import {parseSignal} from '../../lib/tasks/signals'

export default class ContainersKill extends BaseCommand<typeof ContainersKill> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('tasks', ['kill'])
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Send a signal to a container or one of its processes

Without --signal, the container's stop signal (the image's, label io.containerd.image.config.stop-signal, as Go ctr honours it), else SIGTERM.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers kill redis',
    '<%= config.bin %> containers kill --signal KILL redis',
    '<%= config.bin %> containers kill -s 9 --pid 14100 redis',
    '<%= config.bin %> containers kill --all -s HUP web worker',
    '<%= config.bin %> containers kill --exec-id backup redis',
  ]
  static flags = {
    all: Flags.boolean({char: 'a', description: 'signal every process in the container'}),
    'exec-id': Flags.string({description: 'the exec process to signal (as ctr containers ps shows it)'}),
    pid: Flags.string({char: 'p', default: '0', description: 'host PID of the process to signal within the container (0: its init process)'}),
    signal: Flags.string({
      char: 's',
      description:
        "signal to send: a number or a name (9, KILL, SIGKILL) [default: the image's stop signal (label io.containerd.image.config.stop-signal), else SIGTERM]",
    }),
  }
  static strict = false

  async run(): Promise<KillResult[]> {
    const options = {
      signal: this.flags.signal === undefined ? undefined : parseSignal(this.flags.signal),
      pid: parsePid(this.flags.pid),
      all: this.flags.all,
      execId: this.flags['exec-id'],
    }
    checkKillOptions(options)
    const ids = positionalArgs(await this.parse(ContainersKill), " (see 'ctr containers kill --help')")
    const {results, failures} = await forEachId(ids, (id) => killTask(this.client, id, options), {signal: this.signal})
    process.exitCode = reportFailures(failures)
    return results
  }
}
