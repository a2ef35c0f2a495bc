import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import type {Column} from '../../cli/output/ux'
import {usageError} from '../../lib/containerd/errors'
import {listProcesses, type ProcessEntry} from '../../lib/tasks/processes'

/** The init process shows under the container's ID (as containerd's events name it), other PIDs as '-'. */
const columns = (id: string): Column<ProcessEntry>[] => [
  {header: 'PID', value: (p) => p.pid},
  {header: 'EXEC ID', value: (p) => (p.init ? id : p.execId || '-')},
  {header: 'STATUS', value: (p) => p.status ?? '-'},
]
/** --all: how and when the exited ones ended. */
const exitColumns: Column<ProcessEntry>[] = [
  {header: 'EXIT', value: (p) => (p.exitStatus === undefined ? '-' : p.exitStatus)},
  {header: 'EXITED AT', value: (p) => p.exitedAt?.toISOString() ?? '-'},
]

export default class ContainersPs extends BaseCommand<typeof ContainersPs> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('tasks', ['ps'])
  static args = {
    id: Args.string({description: 'container ID', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `List the processes of a container's task: its init, exec processes and their children

With --all, also those that exited: the init of a stopped task, and this task's detached exec processes (ctr removes one from containerd when it exits, so its ID can be used again, and keeps its exit status on the container: about the newest 32). An attached exec's exit status was its ctr's exit code, and is not kept. The PIDs of exited processes may belong to other processes by now: --all cannot be used with --quiet.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers ps redis',
    '<%= config.bin %> containers ps -q redis',
    '<%= config.bin %> containers ps --all redis',
    '<%= config.bin %> containers ps --json redis',
  ]
  static flags = {
    all: Flags.boolean({char: 'a', description: 'also list processes that exited (EXIT and EXITED AT columns)'}),
    quiet: Flags.boolean({char: 'q', description: 'print PIDs only, one per line'}),
  }

  async run(): Promise<ProcessEntry[]> {
    const {all, quiet} = this.flags
    // `ps -qa ID | xargs kill` must never reach a host process that got an exited one's PID.
    if (all && quiet) throw usageError('--all cannot be used with --quiet: exited processes have no live PID')
    const processes = await listProcesses(this.client, this.args.id, {all})
    const shown = [...columns(this.args.id), ...(all ? exitColumns : [])]
    this.ux.list(processes, {columns: shown, id: (p) => String(p.pid)}, {quiet})
    return processes
  }
}
