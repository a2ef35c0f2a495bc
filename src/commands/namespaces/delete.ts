import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {deleteNamespace} from '../../lib/namespaces/namespaces'

export default class NamespacesDelete extends BaseCommand<typeof NamespacesDelete> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('namespaces', ['rm', 'remove', 'delete'], ['namespaces:delete', 'namespaces:rm', 'namespaces:remove'])
  static aliases = ['namespaces:rm', 'namespaces:remove']
  static args = {
    name: Args.string({description: 'namespace name (several may be given)', required: true}),
  }
  static completion: CompletionHints = {namespaces: ['name']}
  static description = `Delete empty namespaces

Prints each deleted name. containerd refuses a namespace that still holds containers, images, content (blobs), snapshots or leases, and says which; nothing is deleted then. With several names, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> namespaces delete test', '<%= config.bin %> namespaces rm test test2']
  static strict = false

  async run(): Promise<Array<{name: string}>> {
    const names = positionalArgs(await this.parse(NamespacesDelete), " (see 'ctr namespaces delete --help')")
    const {results, failures} = await forEachId(names, (name) => deleteNamespace(this.client, name), {
      signal: this.signal,
      onResult: (deleted) => this.ux.log(deleted.name),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
