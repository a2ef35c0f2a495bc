import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {type RemovedVolume, removeVolume} from '../../lib/volumes/volumes'

export default class VolumesRm extends BaseCommand<typeof VolumesRm> {
  static aliases = ['volumes:remove']
  static args = {
    name: Args.string({description: 'volume name (several may be given)', required: true}),
  }
  static description = `Remove named volumes

Deletes the volume and everything in it. Refuses a volume a container of the namespace uses, naming the containers (delete them first), also with --force, as docker does. Prints each removed name; with several names, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> volumes rm data', '<%= config.bin %> volumes rm $(<%= config.bin %> volumes ls -q --filter dangling=true)']
  static flags = {
    force: Flags.boolean({char: 'f', description: 'a volume that is not there is no failure (one in use is still refused)'}),
  }
  static strict = false

  async run(): Promise<RemovedVolume[]> {
    const names = positionalArgs(await this.parse(VolumesRm), " (see 'ctr volumes rm --help')")
    // Printed in the order given (forEachId's onResult), not as each finishes.
    const {results, failures} = await forEachId(names, (name) => removeVolume(this.client, name, {signal: this.signal}), {
      signal: this.signal,
      onResult: (removed) => this.ux.log(removed.name),
    })
    const counted = this.flags.force ? failures.filter((f) => f.error.kind !== 'not-found') : failures
    process.exitCode = reportFailures(counted)
    return results
  }
}
