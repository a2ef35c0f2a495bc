import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {Column} from '../../cli/output/ux'
import {listNetworks} from '../../lib/network/manage'
import type {NetworkInfo} from '../../lib/network/networks'

const columns: Column<NetworkInfo>[] = [
  {header: 'NAME', value: (n) => n.name},
  {header: 'SUBNET', value: (n) => n.subnets.join(',') || '-'},
  {header: 'BRIDGE', value: (n) => n.bridge ?? '-'},
  {header: 'CTR', value: (n) => (n.ctrMade ? 'yes' : 'no')},
]

export default class Networks extends BaseCommand<typeof Networks> {
  static aliases = ['networks:ls', 'networks:list']
  static description = `List the CNI networks containers can join

The configuration lists in /etc/cni/net.d (or $CNI_CONF_DIR). CTR says whether ctr made the network (networks create, or its default network ctr-bridge, which --net bridge means and which ctr writes on first use).

Other network commands: create, rm (see 'ctr networks COMMAND --help').`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> networks', '<%= config.bin %> networks -q', '<%= config.bin %> networks --json']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'print names only, one per line'}),
  }

  async run(): Promise<NetworkInfo[]> {
    const networks = await listNetworks()
    this.ux.list(networks, {columns, id: (n) => n.name}, {quiet: this.flags.quiet})
    return networks
  }
}
