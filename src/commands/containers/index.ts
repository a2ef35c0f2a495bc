import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {type ContainerInfo, listContainers} from '../../lib/containers/containers'
import {parseContainerFilters} from '../../lib/containers/filters'
import type {Column} from '../../cli/output/ux'
import {withNetworks} from '../../lib/network/container-network'
import {rowsOnNodes, withNodeColumn} from '../../cli/output/nodes'

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
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('containers', ['', 'ls', 'list'], ['containers', 'containers:ls', 'containers:list'])
  static aliases = ['containers:ls', 'containers:list']
  static description = `List the containers of the namespace with their task state

STATUS is the task's (created, running, paused, pausing, stopped). A container without a task is created (never started: Go's ctr c create, Kubernetes before it starts it), or stopped if ctr saw it exit. PATH is the bundle, or the image for containers made from one.

Filters, docker-style: status=STATUS, id=ID, label=KEY or label=KEY=VALUE. Different keys must all match; repeated status= or id= filters match any of their values; repeated label= filters must all match.

Filters, containerd's syntax: FIELD==VALUE, FIELD!=VALUE, FIELD~=REGEX or FIELD alone (present); a comma means AND, several --filter mean OR. Fields: id, image, runtime.name, labels.KEY (quote keys with dots: labels."app.tier"==web), and ctr's status. A filter ctr cannot understand is an error.

Delete every stopped container (xargs -r runs nothing when the list is empty):
  ctr containers -q --filter status=stopped | xargs -r ctr containers delete

Other container commands: start, logs, wait, info, delete (rm), prune, exec, kill, pause, resume, ps, stats (see 'ctr containers COMMAND --help').`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers',
    '<%= config.bin %> containers -q --filter status=running',
    '<%= config.bin %> containers -q --filter status=stopped | xargs -r <%= config.bin %> containers rm',
    '<%= config.bin %> containers -f \'status==running,labels."app"==web\'',
    "<%= config.bin %> containers -f 'id~=^red'",
    '<%= config.bin %> containers --json --filter label=app=web',
  ]
  static flags = {
    filter: Flags.string({char: 'f', description: 'show only matching containers: KEY=VALUE or containerd syntax (repeatable)', multiple: true}),
    quiet: Flags.boolean({char: 'q', description: 'print IDs only, one per line'}),
  }

  static multiNode = true

  async run(): Promise<ContainerInfo[]> {
    const {docker, alternatives} = parseContainerFilters(this.flags.filter ?? [])
    if (this.severalNodes) {
      const rows = rowsOnNodes(await this.forEachNode((client) => listContainers(client, {filters: docker, where: alternatives})))
      this.ux.list(rows, {columns: withNodeColumn(columns), id: (c) => c.id}, {quiet: this.flags.quiet})
      return rows
    }
    const listed = await listContainers(this.client, {filters: docker, where: alternatives})
    // Addresses and published ports (ctr's network records) in the JSON only: the table keeps its columns.
    const containers = this.jsonEnabled() && !this.client.remote ? await withNetworks(this.client.namespace, listed) : listed
    this.ux.list(containers, {columns, id: (c) => c.id}, {quiet: this.flags.quiet})
    return containers
  }
}
