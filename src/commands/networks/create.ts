import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {createNetwork} from '../../lib/network/manage'
import type {NetworkInfo} from '../../lib/network/networks'

export default class NetworksCreate extends BaseCommand<typeof NetworksCreate> {
  static args = {
    name: Args.string({description: 'network name (letters, digits and single . _ - between them)', required: true}),
  }
  static description = `Create a bridge network

Writes NAME.conflist in /etc/cni/net.d (or $CNI_CONF_DIR) with ctr's chain: bridge (gateway, masquerade, hairpin) → portmap → firewall → tuning, host-local addresses. Without --subnet, the first /24 of 10.8.0.0/16 that no network and no route of the host uses. A subnet that collides with a route of the host or another network is refused. Prints the name.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> networks create web', '<%= config.bin %> networks create --subnet 10.9.0.0/24 --gateway 10.9.0.254 web']
  static flags = {
    gateway: Flags.string({description: "the bridge's address in the subnet (default: its first host address)", dependsOn: ['subnet']}),
    subnet: Flags.string({description: 'IPv4 subnet in CIDR notation (default: the first free 10.8.N.0/24)'}),
  }

  async run(): Promise<NetworkInfo> {
    const created = await createNetwork(this.args.name, {subnet: this.flags.subnet, gateway: this.flags.gateway})
    this.ux.log(created.name)
    return created
  }
}
