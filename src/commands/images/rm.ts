import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {removeImage} from '../../lib/images/store'

export default class ImagesRm extends BaseCommand<typeof ImagesRm> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['rm', 'del', 'delete', 'remove'], ['images:rm', 'images:delete', 'images:remove', 'images:del'])
  static aliases = ['images:delete', 'images:remove', 'images:del']
  static args = {
    ref: Args.string({description: 'image name, as ctr images lists it (several may be given)', required: true}),
  }
  static description = `Remove images

Prints each removed name. The image's content and snapshots are freed by containerd's garbage collector once nothing else uses them. An image that containers were created from is kept, naming them, unless --force (the containers keep working: their snapshots stay). With several names, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed. A name that is not there is reported on stderr but is not a failure (exit 0), as in Go ctr.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images rm docker.io/library/busybox:latest',
    "<%= config.bin %> images rm --force $(<%= config.bin %> images -q --filter 'name~=^import-')",
  ]
  static flags = {
    force: Flags.boolean({char: 'f', description: 'remove it even if containers were created from it'}),
    sync: Flags.boolean({description: 'wait until containerd has freed the content and snapshots'}),
  }
  static strict = false

  async run(): Promise<Array<{name: string; digest: string}>> {
    const refs = positionalArgs(await this.parse(ImagesRm), " (see 'ctr images rm --help')")
    const {results, failures} = await forEachId(
      refs,
      (ref) => removeImage(this.client, ref, {force: this.flags.force, sync: this.flags.sync, signal: this.signal}),
      {signal: this.signal, onResult: (removed) => this.ux.log(removed.name)},
    )
    // A name that is not there is reported but does not fail the run, as in Go ctr (`rm -f`'s habit).
    const missing = failures.filter((f) => f.error.kind === 'not-found')
    reportFailures(missing)
    process.exitCode = reportFailures(failures.filter((f) => f.error.kind !== 'not-found'))
    return results
  }
}
