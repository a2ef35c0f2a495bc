import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {Column} from '../../cli/output/ux'
import {listNamespaces, type NamespaceInfo} from '../../lib/namespaces/namespaces'
import {rowsOnNodes, withNodeColumn} from '../../cli/output/nodes'

const columns: Column<NamespaceInfo>[] = [
  {header: 'NAME', value: (n) => n.name},
  {
    header: 'LABELS',
    value: (n) =>
      Object.entries(n.labels)
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
  },
]

export default class Namespaces extends BaseCommand<typeof Namespaces> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('namespaces', ['', 'ls', 'list'], ['namespaces', 'namespaces:ls', 'namespaces:list'])
  static aliases = ['namespaces:ls', 'namespaces:list']
  static description = `List containerd's namespaces with their labels

Other namespace commands: create, delete (rm) (see 'ctr namespaces COMMAND --help').`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> namespaces', '<%= config.bin %> namespaces -q', '<%= config.bin %> namespaces --json']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'print names only, one per line'}),
  }

  static multiNode = true

  async run(): Promise<NamespaceInfo[]> {
    if (this.severalNodes) {
      const rows = rowsOnNodes(await this.forEachNode((client) => listNamespaces(client)))
      this.ux.list(rows, {columns: withNodeColumn(columns), id: (n) => n.name}, {quiet: this.flags.quiet})
      return rows
    }
    const namespaces = await listNamespaces(this.client)
    this.ux.list(namespaces, {columns, id: (n) => n.name}, {quiet: this.flags.quiet})
    return namespaces
  }
}
