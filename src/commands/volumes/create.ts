import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {createVolume} from '../../lib/volumes/volumes'

export default class VolumesCreate extends BaseCommand<typeof VolumesCreate> {
  static args = {
    name: Args.string({description: 'volume name: a letter or digit, then letters, digits, _ . - (several may be given)', required: true}),
  }
  static description = `Create named volumes

Makes an empty volume for 'containers start -v NAME:PATH' (which also makes a missing one by itself). A volume that exists already is left as it is, as docker does. Prints each name.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> volumes create data', '<%= config.bin %> volumes create cache logs']
  static strict = false

  async run(): Promise<Array<{name: string; mountpoint: string; created: boolean}>> {
    const names = positionalArgs(await this.parse(VolumesCreate), " (see 'ctr volumes create --help')")
    // Printed in the order given (forEachId's onResult), not as each finishes.
    const {results, failures} = await forEachId(names, (name) => createVolume(this.client, name, {signal: this.signal}), {
      signal: this.signal,
      onResult: (volume) => this.ux.log(volume.name),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
