import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {removeNetwork} from '../../lib/network/manage'
import type {NetworkInfo} from '../../lib/network/networks'

export default class NetworksRm extends BaseCommand<typeof NetworksRm> {
  static aliases = ['networks:remove', 'networks:delete']
  static args = {
    name: Args.string({description: 'network name (several may be given)', required: true}),
  }
  static description = `Remove networks ctr made

Removes the configuration file, the bridge device and host-local's bookkeeping. Refuses a network a container uses (and names the containers) and one ctr did not make. Prints each removed name; with several names, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> networks rm web', '<%= config.bin %> networks rm web db']
  static strict = false

  async run(): Promise<NetworkInfo[]> {
    const names = positionalArgs(await this.parse(NetworksRm), " (see 'ctr networks rm --help')")
    const {results, failures} = await forEachId(names, (name) => removeNetwork(name), {
      signal: this.signal,
      onResult: (removed) => this.ux.log(removed.name),
      concurrency: 1,
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
