import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {type Column, printList} from '../../cli/output/print'
import {listProcesses, type ProcessEntry} from '../../lib/tasks/processes'

/** The init process shows under the container's ID (as containerd's events name it), other PIDs as '-'. */
const columns = (id: string): Column<ProcessEntry>[] => [
  {header: 'PID', value: (p) => p.pid},
  {header: 'EXEC ID', value: (p) => (p.init ? id : p.execId || '-')},
  {header: 'STATUS', value: (p) => p.status ?? '-'},
]

export default class ContainersPs extends BaseCommand<typeof ContainersPs> {
  static args = {
    id: Args.string({description: 'container ID', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = "List the processes of a container's task: its init, exec processes and their children"
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers ps redis', '<%= config.bin %> containers ps -q redis', '<%= config.bin %> containers ps --json redis']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'print PIDs only, one per line'}),
  }

  async run(): Promise<ProcessEntry[]> {
    const processes = await listProcesses(this.client, this.args.id)
    printList(processes, {columns: columns(this.args.id), id: (p) => String(p.pid)}, {json: this.jsonEnabled(), quiet: this.flags.quiet})
    return processes
  }
}
