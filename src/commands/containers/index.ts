import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {type ContainerInfo, listContainers, parseFilters} from '../../lib/containers/containers'
import {type Column, printList} from '../../cli/output/print'

/** PATH is the bundle, or the image for containers made from one (by Go ctr, nerdctl...). */
const columns: Column<ContainerInfo>[] = [
  {header: 'ID', value: (c) => c.id},
  {header: 'PATH', value: (c) => c.bundle || c.image || '-'},
  {
    header: 'STATUS',
    value: (c) => c.status,
    color: (text, c, chalk) => (c.status === 'running' ? chalk.green(text) : c.status === 'paused' ? chalk.yellow(text) : text),
  },
  {header: 'PID1', value: (c) => (c.pid ? c.pid : '-')},
]

export default class Containers extends BaseCommand<typeof Containers> {
  static aliases = ['containers:ls', 'containers:list']
  static description = `List the containers of the namespace with their task state

STATUS is the task's (created, running, paused, pausing, stopped); a container without a task is stopped. PATH is the bundle, or the image for containers made from one.

Filters: status=STATUS, id=ID, label=KEY or label=KEY=VALUE. Different keys must all match; repeated status= or id= filters match any of their values; repeated label= filters must all match.

Other container commands: start, logs, wait, info, delete (rm), prune, exec, kill, pause, resume, ps, stats (see 'ctr containers COMMAND --help').`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers',
    '<%= config.bin %> containers -q --filter status=running',
    '<%= config.bin %> containers rm $(<%= config.bin %> containers -q --filter status=stopped)',
    '<%= config.bin %> containers --json --filter label=app=web',
  ]
  static flags = {
    filter: Flags.string({char: 'f', description: 'show only containers matching KEY=VALUE (repeatable)', multiple: true}),
    quiet: Flags.boolean({char: 'q', description: 'print IDs only, one per line'}),
  }

  async run(): Promise<ContainerInfo[]> {
    const filters = parseFilters(this.flags.filter ?? [])
    const containers = await listContainers(this.client, {filters})
    printList(containers, {columns, id: (c) => c.id}, {json: this.jsonEnabled(), quiet: this.flags.quiet})
    return containers
  }
}
